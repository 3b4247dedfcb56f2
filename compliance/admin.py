from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import ComplianceFlag, ComplianceRule


@admin.register(ComplianceRule)
class ComplianceRuleAdmin(SimpleHistoryAdmin):
    list_display = ["code", "jurisdiction", "name", "effective_on", "deadline_on", "is_active"]
    list_filter = ["jurisdiction", "is_active"]
    search_fields = ["code", "name", "citation"]
    filter_horizontal = ["countries"]

    def save_related(self, request, form, formsets, change):
        # The countries are saved here, after the rule: only now is the rule whole.
        super().save_related(request, form, formsets, change)
        services.rule_changed(form.instance)


@admin.register(ComplianceFlag)
class ComplianceFlagAdmin(SimpleHistoryAdmin):
    list_display = ["rule", "agreement", "engagement", "raised_on", "status", "decided_by"]
    list_filter = ["status", "rule"]
    list_select_related = ["rule", "agreement", "engagement", "decided_by"]
    raw_id_fields = ["agreement", "engagement", "decided_by"]
    # Raised and lifted by the rules; decided on the record's page or through the API.
    readonly_fields = [field.name for field in ComplianceFlag._meta.fields]

    def has_add_permission(self, request):
        return False
