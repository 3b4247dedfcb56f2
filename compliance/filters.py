"""The compliance flags' filters, shared by `GET /api/v1/compliance-flags/`, `/compliance/` and its CSV."""

import django_filters

from utilities.filterfields import SubdivisionFilter

from .models import ComplianceFlag, FlagStatus


class ComplianceFlagFilterSet(django_filters.FilterSet):
    rule = django_filters.CharFilter(field_name="rule__code", max_length=40, label="Rule (code, e.g. TX-GOV-795)")
    state = SubdivisionFilter(method="filter_state", label="State (e.g. US-TX)")
    status = django_filters.MultipleChoiceFilter(choices=FlagStatus.choices)

    class Meta:
        model = ComplianceFlag
        fields = ["rule", "state", "status"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(rule__jurisdiction=value.upper())
