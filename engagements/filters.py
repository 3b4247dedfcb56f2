"""One FilterSet per model, used alike by the HTML lists, the API, CSV export and the dashboards
(SPEC §4 filters). Filters across many-to-many relations use `Exists` subqueries, so a record
matching twice is still one row and counts stay cheap; on PostgreSQL, topic and counterpart
country read the arrays each record carries (`filter_arrays.py`) through their GIN indexes.

Date ranges are inclusive: `start_after=2026-03-01` keeps engagements starting on March 1.
A filter by a related record's id goes through the read policy: an id the viewer may not see
matches nothing, as a missing one does. The viewer is the request's user, or `user=` where a
FilterSet is built without a request; with neither, it is an anonymous visitor.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.policy import restrict
from cities.models import Topic
from utilities.filterfields import (
    BoundedDateFilter,
    CountryCodeFilter,
    IdFilter,
    SlugListFilter,
    StableOrderingFilter,
    StrictBooleanFilter,
    SubdivisionFilter,
)

from . import lifecycle
from .filter_arrays import COUNTRY_CODES, TOPIC_SLUGS, ArrayMatch, arrays_available
from .models import Agreement, Engagement, FollowUp, Review, Visibility


class CityRecordFilterSet(django_filters.FilterSet):
    """The filters agreements and engagements share."""

    city = IdFilter(field_name="city_id", label="City (id)")
    state = SubdivisionFilter(method="filter_state", label="State (e.g. US-CA)")
    topic = SlugListFilter(
        choices=lambda: Topic.objects.values_list("slug", "name"), method="filter_topic", label="Topic (any of)"
    )
    counterpart_country = CountryCodeFilter(method="filter_counterpart_country", label="Counterpart country (ISO2)")
    counterpart_city = IdFilter(method="filter_counterpart_city", label="Counterpart city (id)")
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices)
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Title or summary contains")
    compliance = django_filters.ChoiceFilter(
        choices=[("open", "Open"), ("resolved", "Resolved"), ("waived", "Waived")],
        method="filter_compliance",
        label="Compliance flag (status)",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.viewer = user if user is not None else getattr(self.request, "user", None)

    def filter_state(self, queryset, name, value):
        return queryset.filter(city__subdivision=value.upper())

    def _related(self, relation: str, **lookups):
        through = self._meta.model._meta.get_field(relation).remote_field.through
        owner = f"{self._meta.model._meta.model_name}_id"
        return Exists(through.objects.filter(**{owner: OuterRef("pk")}, **lookups))

    def filter_topic(self, queryset, name, value):
        if not value:
            return queryset
        if arrays_available(queryset):
            # The record's trigger-kept topic slugs, through their GIN index (filter_arrays.py).
            return queryset.filter(ArrayMatch(TOPIC_SLUGS, "overlaps", sorted(set(value))))
        return queryset.filter(self._related("topics", topic__slug__in=value))

    def filter_counterpart_country(self, queryset, name, value):
        if arrays_available(queryset):
            return queryset.filter(ArrayMatch(COUNTRY_CODES, "contains", [value.upper()]))
        return queryset.filter(self._related("counterpart_countries", country_id=value.upper()))

    def filter_counterpart_city(self, queryset, name, value):
        return queryset.filter(self._related("counterpart_cities", city_id=value))

    def filter_compliance(self, queryset, name, value):
        """Records with a compliance flag in this status. The flags are read through their
        reverse relation (`compliance_flags`): this app does not import the compliance app."""
        flags = self._meta.model._meta.get_field("compliance_flags").related_model
        owner = self._meta.model._meta.model_name
        return queryset.filter(Exists(flags.objects.filter(**{owner: OuterRef("pk")}, status=value)))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(summary__icontains=value))


class AgreementFilterSet(CityRecordFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=Agreement.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=Agreement.Status.choices)
    signed_after = BoundedDateFilter(field_name="signed_on", lookup_expr="gte")
    signed_before = BoundedDateFilter(field_name="signed_on", lookup_expr="lte")
    expires_after = BoundedDateFilter(field_name="expires_on", lookup_expr="gte")
    expires_before = BoundedDateFilter(field_name="expires_on", lookup_expr="lte")
    lapsed = StrictBooleanFilter(method="filter_lapsed", label="Lapsed (active or signed, past its expiry)")
    dormant = StrictBooleanFilter(
        method="filter_dormant", label="Dormant (no engagement with its counterparts for 3 years)"
    )
    ordering = StableOrderingFilter(
        fields=["signed_on", "effective_on", "expires_on", "renewal_due_on", "title", "created_at", "updated_at"]
    )

    class Meta:
        model = Agreement
        fields = [
            "city",
            "state",
            "kind",
            "status",
            "topic",
            "counterpart_country",
            "counterpart_city",
            "visibility",
            "q",
            "signed_after",
            "signed_before",
            "expires_after",
            "expires_before",
            "compliance",
            "lapsed",
            "dormant",
        ]

    def filter_lapsed(self, queryset, name, value):
        lapsed = lifecycle.lapsed_q(timezone.localdate())
        return queryset.filter(lapsed) if value else queryset.exclude(lapsed)

    def filter_dormant(self, queryset, name, value):
        dormant = lifecycle.dormant_q(timezone.localdate())
        return queryset.filter(dormant) if value else queryset.exclude(dormant)


class EngagementFilterSet(CityRecordFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=Engagement.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=Engagement.Status.choices)
    start_after = BoundedDateFilter(field_name="start_date", lookup_expr="gte")
    start_before = BoundedDateFilter(field_name="start_date", lookup_expr="lte")
    # A column of the record: no row can match twice, so no DISTINCT (django-filter's default for
    # multiple choices), which made the review queue sort every unreviewed engagement whole.
    review_status = django_filters.MultipleChoiceFilter(choices=Engagement.ReviewStatus.choices, distinct=False)
    federal_coordination_requested = StrictBooleanFilter()
    agreement = IdFilter(method="filter_agreement", label="Agreement (id)")
    ordering = StableOrderingFilter(fields=["start_date", "end_date", "title", "created_at", "updated_at"])

    class Meta:
        model = Engagement
        fields = [
            "city",
            "state",
            "kind",
            "status",
            "topic",
            "counterpart_country",
            "counterpart_city",
            "visibility",
            "q",
            "start_after",
            "start_before",
            "review_status",
            "federal_coordination_requested",
            "agreement",
            "compliance",
        ]

    def filter_agreement(self, queryset, name, value):
        return queryset.filter(agreement__in=restrict(Agreement.objects.filter(pk=value), self.viewer).values("pk"))


class FollowUpFilterSet(django_filters.FilterSet):
    engagement = IdFilter(field_name="engagement_id")
    city = IdFilter(field_name="engagement__city_id")
    assignee = IdFilter(field_name="assignee_id")
    done = StrictBooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)
    due_after = BoundedDateFilter(field_name="due_on", lookup_expr="gte")
    due_before = BoundedDateFilter(field_name="due_on", lookup_expr="lte")
    ordering = StableOrderingFilter(fields=["due_on", "done_at"])

    class Meta:
        model = FollowUp
        fields = ["engagement", "city", "assignee", "done", "due_after", "due_before"]


class ReviewFilterSet(django_filters.FilterSet):
    decision = django_filters.MultipleChoiceFilter(choices=Review.Decision.choices)

    class Meta:
        model = Review
        fields = ["decision"]
