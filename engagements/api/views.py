import re

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.policy import Action, restrict
from cities.api.views import CITY_COLUMNS_DEFERRED
from cities.models import City
from engagements import exports, services
from engagements.filters import AgreementFilterSet, EngagementFilterSet, FollowUpFilterSet
from engagements.models import Engagement, FollowUp, Participant, Review
from engagements.pagination import EngagementPagination
from engagements.stats import GROUP_BY_CHOICES, count_engagements
from utilities.api import ApiViewSet, CreateMixin, DestroyMixin, PartialUpdateMixin, UpdateMixin, names_a_filter

from . import listing, pgjson
from .serializers import (
    AgreementSerializer,
    EngagementSerializer,
    FollowUpSerializer,
    ReviewSerializer,
    flags_prefetch,
)

ENTITY_TAG = re.compile(r'^(?:W/)?"(\d+)-(\d+)"$')

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag read with the record (e.g. `"12-3"`): the write happens only if nobody saved it since.',
    pattern=r'^(\*|"[0-9]+-[0-9]+")$',
)
STALE = OpenApiResponse(description="If-Match no longer matches: someone saved the record since; nothing changed.")


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


def _light_cities():
    return City.objects.defer(*CITY_COLUMNS_DEFERRED)


class VersionedRecordViewSet(CreateMixin, UpdateMixin, DestroyMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Agreements and engagements: every read of one carries its ETag; a write with If-Match
    happens only if the record is still at that version, checked again under a row lock by the
    service (two writers with the same If-Match: exactly one wins, the other gets 412)."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    service = None
    list_ordering: tuple[str, ...] = ()

    def visible_records(self):
        """The records the caller may see, in the list's order: all a page's ids are read from."""
        return self.filterset_class.Meta.model.objects.visible_to(self.request.user).order_by(*self.list_ordering)

    def get_queryset(self):
        return (
            self.visible_records()
            .select_related("city")
            .defer(*(f"city__{c}" for c in CITY_COLUMNS_DEFERRED))
            .prefetch_related(
                Prefetch("counterpart_cities", queryset=_light_cities()),
                "counterpart_organizations",
                "named_countries",
                "counterpart_countries",
                "topics",
                flags_prefetch(),
            )
        )

    def csv_copy_rows(self, queryset, header):
        return exports.api_rows(queryset, header, self.request.user)

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "csv":
            # The records' relations are the statement's to read: the ids need none of them.
            queryset = self.filter_queryset(self.visible_records())
            if pgjson.applies(request, queryset):
                return self.database_rendered_list(queryset)
        return self.serialized_list(request, *args, **kwargs)

    def serialized_list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def database_rendered_list(self, queryset):
        """The page written as JSON by PostgreSQL (`pgjson.py`): the count (which the paginator
        reads first), the page's ids through the list's filters, order, visibility and pagination,
        then the one prepared statement that writes their records.

        The first page of a list with no filter, the page most requests ask for, is all one
        statement: count, ids and records. Its queries then hold only the caller's visibility,
        whose values do not change their plans. A filter's values may (PostgreSQL could come to
        run one generic plan for every topic, common or rare), and a later page's offset,
        written into the query's text, would make every page a statement of its own."""
        ids = queryset.values_list("pk", flat=True)
        paginator, request = self.paginator, self.request
        if request.query_params.get(paginator.page_query_param, "1") == "1" and not names_a_filter(
            request, self.filterset_class
        ):
            count, results = pgjson.render_first_page(
                ids[: paginator.get_page_size(request)],
                paginator.total_statement(queryset, request),
                self.get_serializer_class(),
                request.user,
                self.requested_expand,
                using=queryset.db,
            )
            paginator.first_page(ids, request, count)
        else:
            results = pgjson.render_page(
                paginator.page_slice(ids, request),
                self.get_serializer_class(),
                request.user,
                self.requested_expand,
                using=queryset.db,
            )
        self.request.accepted_renderer = pgjson.RawJSONRenderer()
        return Response(pgjson.RawJSON(pgjson.envelope(self.paginator, results)))

    def read_if_match(self, record) -> int | None:
        """The version the caller expects, or None (no If-Match, or `*`): a 412 now if it is
        already stale (once the body is known valid); the service checks again under its lock."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return None
        tags = [tag.strip() for tag in header.split(",")]
        if "*" in tags:
            return None
        for tag in tags:
            match = ENTITY_TAG.match(tag)
            if match and int(match[1]) == record.pk and int(match[2]) == record.version:
                return record.version
        raise PreconditionFailed()

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        return Response(self.get_serializer(record).data, headers={"ETag": record.etag})

    def record_response(self, instance, status_code):
        response = super().record_response(instance, status_code)
        response["ETag"] = instance.etag
        return response

    def perform_write(self, serializer, instance):
        return self.save_record(
            actor=self.request.user,
            data=serializer.validated_data,
            record=instance,
            expected_version=self.read_if_match(instance) if instance else None,
        )

    def perform_delete(self, instance):
        services.delete_city_record(
            actor=self.request.user, record=instance, expected_version=self.read_if_match(instance)
        )

    def handle_exception(self, exc):
        if isinstance(exc, services.StaleEdit):
            exc = PreconditionFailed()
        return super().handle_exception(exc)


def versioned_docs(serializer_class):
    """Document If-Match and its 412 on every write of one record."""
    write = extend_schema(parameters=[IF_MATCH], responses={200: serializer_class, 412: STALE})
    return extend_schema_view(
        update=write,
        partial_update=write,
        destroy=extend_schema(parameters=[IF_MATCH], responses={204: None, 412: STALE}),
    )


@versioned_docs(AgreementSerializer)
class AgreementViewSet(VersionedRecordViewSet):
    """Agreements the caller may see; staff write their home cities' agreements."""

    serializer_class = AgreementSerializer
    filterset_class = AgreementFilterSet
    csv_filename = "agreements.csv"
    list_ordering = ("-signed_on", "title", "pk")

    def save_record(self, *, record, **kwargs):
        return services.save_agreement(agreement=record, **kwargs)


@versioned_docs(EngagementSerializer)
class EngagementViewSet(VersionedRecordViewSet):
    """Engagements the caller may see; staff write their home cities' engagements, liaisons
    review them."""

    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = EngagementPagination
    csv_filename = "engagements.csv"
    list_ordering = ("-start_date", "-pk")
    paginated_actions = frozenset({"list", "reviews"})

    def get_queryset(self):
        if self.action == "reviews":
            return Engagement.objects.visible_to(self.request.user)
        return (
            super()
            .get_queryset()
            .select_related("location_city", "agreement")
            .defer(*(f"location_city__{c}" for c in CITY_COLUMNS_DEFERRED))
            .prefetch_related(
                Prefetch(
                    "participants",
                    queryset=restrict(Participant.objects.select_related("contact"), self.request.user),
                )
            )
        )

    def serialized_list(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv" or self.requested_expand:
            return super().serialized_list(request, *args, **kwargs)
        page = self.paginate_queryset(listing.page_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(listing.represent(page, self.get_serializer(), request.user))

    def csv_rows(self, queryset, serializer):
        # The plain rows of the JSON list, streamed: the serializer's output at some 20 times its speed.
        return listing.export_rows(queryset, serializer, self.request.user)

    def get_write_model(self):
        return Review if self.action == "reviews" else Engagement

    def get_object_action(self):
        return Action.REVIEW if self.action == "reviews" else super().get_object_action()

    def save_record(self, *, record, **kwargs):
        return services.save_engagement(engagement=record, **kwargs)

    @extend_schema(methods=["GET"], responses=ReviewSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], request=ReviewSerializer, responses={201: ReviewSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=ReviewSerializer, filterset_class=None)
    def reviews(self, request, pk=None):
        """GET: the engagement's reviews, latest first (for readers of internal records).
        POST: a liaison's decision, which becomes the engagement's review status."""
        engagement = self.get_object()
        if request.method == "GET":
            reviews = Review.objects.visible_to(request.user).filter(engagement=engagement).select_related("reviewer")
            page = self.paginate_queryset(reviews)
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.add_review(reviewer=request.user, engagement=engagement, **serializer.validated_data)
        return Response(self.get_serializer(review).data, status=status.HTTP_201_CREATED)


class FollowUpViewSet(CreateMixin, PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Follow-ups on engagements the caller may see (for readers of internal records); staff of
    the engagement's city write them."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]
    csv_filename = "follow-ups.csv"

    def get_queryset(self):
        return (
            FollowUp.objects.visible_to(self.request.user)
            .select_related("engagement", "assignee")
            .order_by("due_on", "pk")
        )

    def perform_write(self, serializer, instance):
        return services.save_follow_up(actor=self.request.user, data=serializer.validated_data, follow_up=instance)


class EngagementCountSerializer(serializers.Serializer):
    key = serializers.JSONField(help_text="Month `YYYY-MM`, topic slug, kind, country iso2, city id or state.")
    label = serializers.CharField()
    count = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(GROUP_BY_CHOICES), required=True)],
        responses=EngagementCountSerializer(many=True),
    )
)
class EngagementStatsViewSet(ApiViewSet):
    """Counts of the engagements the caller may see, by one dimension, with the engagement filters."""

    serializer_class = EngagementCountSerializer
    filterset_class = EngagementFilterSet
    pagination_class = None
    csv_filename = "engagement-counts.csv"

    def get_queryset(self):
        return Engagement.objects.visible_to(self.request.user)

    def allowed_query_params(self):
        return (super().allowed_query_params() - {"page", "page_size", "expand"}) | {"group_by"}

    def list(self, request, *args, **kwargs):
        group_by = request.query_params.get("group_by")
        if group_by not in GROUP_BY_CHOICES:
            raise exceptions.ValidationError({"group_by": [f"Choose one of: {', '.join(GROUP_BY_CHOICES)}."]})
        return Response(count_engagements(self.filter_queryset(self.get_queryset()), group_by))
