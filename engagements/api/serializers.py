from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.policy import Action, can, is_home_city
from cities.api.serializers import (
    HOME_CITY_ONLY,
    CityBriefSerializer,
    CountrySerializer,
    OrganizationBriefSerializer,
    TopicSerializer,
    check_home_city,
)
from cities.models import City
from contacts.models import Contact
from engagements.models import Agreement, Engagement, FollowUp, Participant, Review
from engagements.services import RELATION_FIELDS, resolve_relations
from utilities.serializers import (
    IdListField,
    KeyListField,
    LabelField,
    OptionalLabelField,
    StrictModelSerializer,
    as_drf_error,
)

# A compliance flag as it appears on its record (SPEC §8.2); the list's fast path
# (`listing.py`) reads the same columns and builds the same objects with `flag_item`.
FLAG_COLUMNS = (
    "id",
    "rule__code",
    "rule__name",
    "rule__citation",
    "rule__url",
    "rule__deadline_on",
    "status",
    "raised_on",
)
FLAG_ORDERING = ("rule__code", "id")

# "No such user" and "not assignable" read the same: the field does not tell who exists.
ASSIGNEE_NOT_ASSIGNABLE = "Choose a member of the engagement's city staff."


def flag_item(values) -> dict:
    """One flag from its FLAG_COLUMNS values, in that order."""
    pk, code, name, citation, url, deadline_on, status, raised_on = values
    return {
        "id": pk,
        "rule": code,
        "rule_name": name,
        "citation": citation,
        "url": url,
        "deadline_on": deadline_on.isoformat() if deadline_on else None,
        "status": status,
        "raised_on": raised_on.isoformat() if raised_on else None,
    }


def flags_prefetch() -> Prefetch:
    """The records' flags, read through their reverse relation (this app does not import the
    compliance app), with their rules, in the order the list's fast path uses."""
    return Prefetch(
        "compliance_flags",
        queryset=Agreement._meta.get_field("compliance_flags")
        .related_model.objects.select_related("rule")
        .order_by(*FLAG_ORDERING),
    )


@extend_schema_field(
    {
        "type": "array",
        "readOnly": True,
        "items": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "rule": {"type": "string"},
                "rule_name": {"type": "string"},
                "citation": {"type": "string"},
                "url": {"type": "string"},
                "deadline_on": {"type": "string", "format": "date", "nullable": True},
                "status": {"type": "string", "enum": ["open", "resolved", "waived"]},
                "raised_on": {"type": "string", "format": "date"},
            },
        },
    }
)
class ComplianceFlagsField(serializers.Field):
    """The record's state-law compliance flags (any status)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record):
        flags = sorted(record.compliance_flags.all(), key=lambda flag: (flag.rule.code, flag.pk))
        return [flag_item(tuple(_column(flag, column) for column in FLAG_COLUMNS)) for flag in flags]


def _column(flag, column: str):
    value = flag
    for part in column.split("__"):
        value = getattr(value, part)
    return value


class VisibleRecordField(serializers.PrimaryKeyRelatedField):
    """An agreement or engagement given by id: one the caller may not see does not exist."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.visible_to(self.context["request"].user)


class CityRecordSerializer(StrictModelSerializer):
    """What agreements and engagements share: the owning city, counterparts, topics, visibility."""

    city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all())
    city_name = LabelField(source="city.label")
    kind_display = LabelField(source="get_kind_display")
    status_display = LabelField(source="get_status_display")
    visibility_display = LabelField(source="get_visibility_display")
    counterpart_cities = IdListField()
    counterpart_organizations = IdListField()
    named_countries = KeyListField(key="iso2", key_max_length=2, help_text="Countries named directly (ISO2).")
    counterpart_countries = KeyListField(
        key="iso2", read_only=True, help_text="Every counterpart's country plus those named directly."
    )
    topics = KeyListField(key="slug")
    compliance_flags = ComplianceFlagsField()
    expandable = {
        "city": CityBriefSerializer,
        "counterpart_cities": CityBriefSerializer,
        "counterpart_organizations": OrganizationBriefSerializer,
        "named_countries": CountrySerializer,
        "counterpart_countries": CountrySerializer,
        "topics": TopicSerializer,
    }

    shared_fields = [
        "id",
        "title",
        "kind",
        "kind_display",
        "status",
        "status_display",
        "city",
        "city_name",
        "counterpart_cities",
        "counterpart_organizations",
        "named_countries",
        "counterpart_countries",
        "topics",
        "summary",
        "visibility",
        "visibility_display",
        "external_id",
        "compliance_flags",
    ]
    bookkeeping_fields = ["created_at", "updated_at", "version"]

    def validate_city(self, city):
        return check_home_city(self, city)

    def validate(self, attrs):
        keys = {name: attrs.pop(name) for name in RELATION_FIELDS if name in attrs}
        if "named_countries" in keys:
            keys["named_countries"] = [code.upper() for code in keys["named_countries"]]
        if keys:
            try:
                attrs.update(resolve_relations(**keys))
            except DjangoValidationError as error:
                raise as_drf_error(error) from error
        return attrs


class AgreementSerializer(CityRecordSerializer):
    last_activity_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="The latest engagement under it or with its counterparts."
    )
    lapsed = serializers.SerializerMethodField(help_text="Active or signed, past its expiry date.")

    def get_lapsed(self, agreement) -> bool:
        return agreement.is_lapsed(timezone.localdate())

    class Meta:
        model = Agreement
        fields = [
            *CityRecordSerializer.shared_fields,
            "signed_on",
            "effective_on",
            "expires_on",
            "renewal_due_on",
            "authorized_by",
            "last_activity_on",
            "lapsed",
            "url",
            *CityRecordSerializer.bookkeeping_fields,
        ]
        read_only_fields = [*CityRecordSerializer.bookkeeping_fields, "last_activity_on"]
        # The per-city external id rule is the model's, checked by the service.
        validators = []


class ParticipantSerializer(StrictModelSerializer):
    # The directory entry they are (SPEC §8.4); participants are read by internal readers only.
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False, allow_null=True)
    contact_name = OptionalLabelField(source="contact.name")

    class Meta:
        model = Participant
        fields = ["name", "title", "organization", "side", "contact", "contact_name"]


class EngagementSerializer(CityRecordSerializer):
    location_city = serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), required=False, allow_null=True)
    location_city_name = OptionalLabelField(source="location_city.label")
    agreement = VisibleRecordField(Agreement, required=False, allow_null=True)
    agreement_title = serializers.SerializerMethodField()
    participants = ParticipantSerializer(many=True, required=False, max_length=200)
    review_status_display = LabelField(source="get_review_status_display")
    expandable = {**CityRecordSerializer.expandable, "location_city": CityBriefSerializer}

    class Meta:
        model = Engagement
        fields = [
            *CityRecordSerializer.shared_fields,
            "start_date",
            "end_date",
            "location_city",
            "location_city_name",
            "venue",
            "agreement",
            "agreement_title",
            "participants",
            "outcomes",
            "federal_coordination_requested",
            "review_status",
            "review_status_display",
            *CityRecordSerializer.bookkeeping_fields,
        ]
        read_only_fields = [*CityRecordSerializer.bookkeeping_fields, "review_status"]
        validators = []

    def _visible_agreement(self, engagement):
        agreement = engagement.agreement
        if agreement is None or not can(self.context["request"].user, Action.VIEW, agreement):
            return None
        return agreement

    def get_agreement_title(self, engagement) -> str | None:
        agreement = self._visible_agreement(engagement)
        return agreement.title if agreement else None

    def to_representation(self, engagement):
        data = super().to_representation(engagement)
        # A public engagement may belong to an agreement the caller may not see: no trace of it.
        agreement = self._visible_agreement(engagement)
        data["agreement"] = agreement.pk if agreement else None
        return data


class FollowUpSerializer(StrictModelSerializer):
    engagement = VisibleRecordField(Engagement)
    engagement_title = LabelField(source="engagement.title")
    city = serializers.IntegerField(source="engagement.city_id", read_only=True)
    # "No such user" and "not assignable" read the same: the field does not tell who exists.
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": ASSIGNEE_NOT_ASSIGNABLE},
    )
    assignee_name = OptionalLabelField(source="assignee.display_name")
    done = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "engagement",
            "engagement_title",
            "city",
            "description",
            "due_on",
            "assignee",
            "assignee_name",
            "done_at",
            "done",
        ]

    def get_done(self, follow_up) -> bool:
        return follow_up.done_at is not None

    def validate(self, attrs):
        engagement = attrs.get("engagement") or self.instance.engagement
        if "engagement" in attrs and not is_home_city(self.context["request"].user, engagement.city_id):
            raise serializers.ValidationError({"engagement": [HOME_CITY_ONLY]})
        assignee = attrs.get("assignee")
        if assignee is not None and not (assignee.is_superuser or is_home_city(assignee, engagement.city_id)):
            raise serializers.ValidationError({"assignee": [ASSIGNEE_NOT_ASSIGNABLE]})
        return attrs


class ReviewSerializer(StrictModelSerializer):
    reviewer_name = LabelField(source="reviewer.display_name")
    decision_display = LabelField(source="get_decision_display")

    class Meta:
        model = Review
        fields = [
            "id",
            "engagement",
            "reviewer",
            "reviewer_name",
            "decision",
            "decision_display",
            "comment",
            "created_at",
        ]
        read_only_fields = ["engagement", "reviewer", "created_at"]
