from django.core.exceptions import ValidationError as DjangoValidationError
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
    class Meta:
        model = Agreement
        fields = [
            *CityRecordSerializer.shared_fields,
            "signed_on",
            "effective_on",
            "expires_on",
            "url",
            *CityRecordSerializer.bookkeeping_fields,
        ]
        read_only_fields = CityRecordSerializer.bookkeeping_fields
        # The per-city external id rule is the model's, checked by the service.
        validators = []


class ParticipantSerializer(StrictModelSerializer):
    class Meta:
        model = Participant
        fields = ["name", "title", "organization", "side"]


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
    assignee = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
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
            raise serializers.ValidationError({"assignee": ["Assign follow-ups to staff of the engagement's city."]})
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
