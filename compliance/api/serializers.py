from rest_framework import serializers

from accounts.policy import reads_people
from compliance.models import ComplianceFlag, ComplianceRule, FlagStatus
from utilities.serializers import StrictModelSerializer


class ComplianceRuleSerializer(serializers.ModelSerializer):
    countries = serializers.SlugRelatedField(slug_field="iso2", many=True, read_only=True)
    record_kinds = serializers.ListField(source="kinds", child=serializers.CharField(), read_only=True)
    agreement_kinds = serializers.ListField(source="agreement_kind_list", child=serializers.CharField(), read_only=True)

    class Meta:
        model = ComplianceRule
        fields = [
            "id",
            "code",
            "jurisdiction",
            "name",
            "citation",
            "url",
            "countries",
            "record_kinds",
            "agreement_kinds",
            "effective_on",
            "deadline_on",
            "required_action",
            "note",
            "is_active",
        ]


class ComplianceFlagSerializer(StrictModelSerializer):
    """A flag; `status` and `reason` are what a PATCH may change (resolve or waive an open flag)."""

    rule = serializers.CharField(source="rule.code", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    citation = serializers.CharField(source="rule.citation", read_only=True)
    deadline_on = serializers.DateField(source="rule.deadline_on", read_only=True)
    required_action = serializers.CharField(source="rule.required_action", read_only=True)
    state = serializers.CharField(source="rule.jurisdiction", read_only=True)
    record_type = serializers.SerializerMethodField()
    record_id = serializers.SerializerMethodField()
    record_title = serializers.SerializerMethodField()
    city = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=[FlagStatus.RESOLVED, FlagStatus.WAIVED])
    reason = serializers.CharField(max_length=2000, allow_blank=False)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = ComplianceFlag
        fields = [
            "id",
            "rule",
            "rule_name",
            "citation",
            "state",
            "deadline_on",
            "required_action",
            "record_type",
            "record_id",
            "record_title",
            "city",
            "raised_on",
            "status",
            "reason",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = ["raised_on", "decided_at"]

    def to_representation(self, flag):
        data = super().to_representation(flag)
        data["status"] = flag.status
        return data

    def get_record_type(self, flag) -> str:
        return "agreement" if flag.agreement_id else "engagement"

    def get_record_id(self, flag) -> int:
        return flag.agreement_id or flag.engagement_id

    def get_record_title(self, flag) -> str:
        return flag.record.title

    def get_city(self, flag) -> int:
        return flag.record.city_id

    def get_decided_by(self, flag) -> str | None:
        # Who decided is people's data (SPEC §2).
        if flag.decided_by_id is None or not reads_people(self.context["request"].user):
            return None
        return flag.decided_by.display_name()
