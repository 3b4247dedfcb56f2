from rest_framework import mixins

from compliance import selectors, services
from compliance.filters import ComplianceFlagFilterSet
from compliance.models import ComplianceRule
from utilities.api import ApiViewSet, PartialUpdateMixin

from .serializers import ComplianceFlagSerializer, ComplianceRuleSerializer


class ComplianceRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """The state-law rules: reference data, read by anyone signed in."""

    serializer_class = ComplianceRuleSerializer
    csv_filename = "compliance-rules.csv"

    def get_queryset(self):
        return ComplianceRule.objects.prefetch_related("countries").order_by("jurisdiction", "code")


class ComplianceFlagViewSet(PartialUpdateMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Flags of the records the caller may see; PATCH `status` (resolved or waived) with a
    `reason` resolves or waives an open one: staff of the record's city, liaisons, admins."""

    serializer_class = ComplianceFlagSerializer
    filterset_class = ComplianceFlagFilterSet
    http_method_names = ["get", "patch", "head", "options"]
    csv_filename = "compliance-flags.csv"

    def get_queryset(self):
        return selectors.flags_for_list(self.request.user).select_related("decided_by")

    def perform_write(self, serializer, instance):
        data = serializer.validated_data
        return services.decide_flag(
            actor=self.request.user, flag=instance, status=data.get("status", ""), reason=data.get("reason", "")
        )
