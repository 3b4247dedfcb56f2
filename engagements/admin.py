from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Agreement, Engagement, FollowUp, Participant, Review


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0


@admin.register(Agreement)
class AgreementAdmin(SimpleHistoryAdmin):
    list_display = ["title", "city", "kind", "status", "signed_on", "expires_on", "visibility"]
    list_filter = ["kind", "status", "visibility"]
    search_fields = ["title", "summary", "external_id", "city__name"]
    autocomplete_fields = ["city", "counterpart_cities", "counterpart_organizations", "named_countries", "created_by"]
    filter_horizontal = ["topics"]
    readonly_fields = ["counterpart_countries", "created_at", "updated_at", "version"]
    list_select_related = ["city"]


@admin.register(Engagement)
class EngagementAdmin(SimpleHistoryAdmin):
    list_display = ["title", "city", "kind", "status", "start_date", "visibility", "review_status"]
    list_filter = ["kind", "status", "visibility", "review_status", "federal_coordination_requested"]
    search_fields = ["title", "summary", "external_id", "city__name"]
    autocomplete_fields = [
        "city", "location_city", "counterpart_cities", "counterpart_organizations", "named_countries",
        "agreement", "created_by",
    ]
    filter_horizontal = ["topics"]
    readonly_fields = ["counterpart_countries", "review_status", "created_at", "updated_at", "version"]
    inlines = [ParticipantInline]
    list_select_related = ["city"]


@admin.register(FollowUp)
class FollowUpAdmin(SimpleHistoryAdmin):
    list_display = ["description", "engagement", "due_on", "assignee", "done_at"]
    search_fields = ["description", "engagement__title"]
    autocomplete_fields = ["engagement", "assignee"]


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin):
    list_display = ["engagement", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
    search_fields = ["engagement__title", "comment", "reviewer__username"]
    autocomplete_fields = ["engagement", "reviewer"]
