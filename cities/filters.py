"""The filters of city-side lists, shared by the HTML lists, the API, CSV export and dashboards."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from utilities.filterfields import (
    CountryCodeFilter,
    IdFilter,
    SlugFilter,
    StableOrderingFilter,
    StrictBooleanFilter,
    SubdivisionFilter,
)

from .models import City, InternationalAffairsOffice, NetworkMembership, Organization

MAX_POPULATION = 2**62


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_POPULATION})
class PopulationFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=0, max_value=MAX_POPULATION, **kwargs)


def active_membership_q(prefix: str = "") -> Q:
    """Active: not left, or leaving in the future (SPEC §3)."""
    return Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": timezone.localdate()})


class CityFilterSet(django_filters.FilterSet):
    country = CountryCodeFilter(method="filter_country")
    subdivision = SubdivisionFilter(method="filter_subdivision")
    q = django_filters.CharFilter(
        method="filter_q", max_length=200, label="A word of its name or alternate names starts with (accents ignored)"
    )
    min_population = PopulationFilter(field_name="population", lookup_expr="gte")
    has_office = StrictBooleanFilter(method="filter_has_office")
    network = SlugFilter(method="filter_network", label="Member of network (slug)")

    class Meta:
        model = City
        fields = ["country", "subdivision", "q", "min_population", "has_office", "network"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(country_id=value.upper())

    def filter_subdivision(self, queryset, name, value):
        return queryset.filter(subdivision=value.upper())

    def filter_q(self, queryset, name, value):
        # A word of any of its names starts with it, largest cities first (SPEC §8.1, cities.matching).
        return queryset.search(value)

    def filter_has_office(self, queryset, name, value):
        if value is None:
            return queryset
        has_office = Exists(InternationalAffairsOffice.objects.filter(city_id=OuterRef("pk")))
        return queryset.filter(has_office if value else ~has_office)

    def filter_network(self, queryset, name, value):
        """Current members of the network."""
        members = NetworkMembership.objects.filter(active_membership_q(), city_id=OuterRef("pk"), network__slug=value)
        return queryset.filter(Exists(members))


class MembershipFilterSet(django_filters.FilterSet):
    network = SlugFilter(field_name="network__slug", label="Network (slug)")
    city = IdFilter(field_name="city_id")
    active = StrictBooleanFilter(method="filter_active")
    role = django_filters.ChoiceFilter(choices=NetworkMembership.Role.choices)
    ordering = StableOrderingFilter(fields=["joined_on", "left_on"])

    class Meta:
        model = NetworkMembership
        fields = ["network", "city", "active", "role"]

    def filter_active(self, queryset, name, value):
        if value is None:
            return queryset
        active = active_membership_q()
        return queryset.filter(active if value else ~active)


class OfficeFilterSet(django_filters.FilterSet):
    city = IdFilter(field_name="city_id")
    is_active = StrictBooleanFilter()

    class Meta:
        model = InternationalAffairsOffice
        fields = ["city", "is_active"]


class OrganizationFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Organization.Kind.choices)
    country = CountryCodeFilter(method="filter_country")
    city = IdFilter(field_name="city_id")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Organization
        fields = ["kind", "country", "city", "q"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(country_id=value.upper())
