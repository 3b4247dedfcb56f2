"""The contact directory's filters, shared by the page, the API and the CSV export."""

import django_filters
from django.db.models import Q

from utilities.filterfields import CountryCodeFilter, IdFilter

from .models import Contact, duplicate_key


class ContactFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", max_length=200, label="Name, organisation, title or email contains"
    )
    home_city = IdFilter(field_name="home_city_id", label="Kept by the staff of city (id)")
    country = CountryCodeFilter(method="filter_country", label="Based in country (ISO2)")
    city = IdFilter(field_name="city_id", label="Based in city (id)")

    class Meta:
        model = Contact
        fields = ["q", "home_city", "country", "city"]

    def filter_q(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            folded = duplicate_key(word)
            condition &= (
                Q(name_key__contains=folded)
                | Q(organization_key__contains=folded)
                | Q(title__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset.filter(condition)

    def filter_country(self, queryset, name, value):
        return queryset.filter(country_id=value.upper())
