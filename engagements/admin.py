from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from .models import Agreement, Engagement, FollowUp, Participant, Review
from .rules import RELATION_FIELDS, check_rules
from .services import (
    AGREEMENT_FIELDS,
    ENGAGEMENT_FIELDS,
    FOLLOW_UP_FIELDS,
    delete_city_record,
    save_agreement,
    save_engagement,
    save_follow_up,
)


class CityRecordAdminForm(forms.ModelForm):
    """Shows the write path's own rules as field errors before anything is saved."""

    def _post_clean(self):
        super()._post_clean()
        cities = self.cleaned_data.get("counterpart_cities") or []
        try:
            check_rules(self.instance, counterpart_city_ids=[city.pk for city in cities], check_agreement=True)
        except ValidationError as error:
            self._update_errors(error)


class CityRecordAdmin(SimpleHistoryAdmin):
    """Agreements and engagements saved in the admin go through the services like every other
    write: version, derived countries, one history entry and the events that alert liaisons."""

    form = CityRecordAdminForm
    writable_fields: list[str] = []
    readonly_fields = ["counterpart_countries", "created_by", "created_at", "updated_at", "version"]
    list_select_related = ["city"]

    def save_record(self, *, actor, data, record):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.writable_fields if name in form.cleaned_data}
        saved = self.save_record(actor=request.user, data=data, record=obj if change else None)
        # The admin goes on with `obj` for its message, log entry and redirect.
        obj.pk, obj.version = saved.pk, saved.version
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # The service set the record's relations with it; the read-only inlines write nothing.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        delete_city_record(actor=request.user, record=obj)

    def delete_queryset(self, request, queryset):
        for record in queryset:
            delete_city_record(actor=request.user, record=record)


class ParticipantInline(admin.TabularInline):
    """Participants are edited with their engagement on its page, where the service keeps them."""

    model = Participant
    extra = 0
    fields = ["name", "title", "organization", "side"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(CityRecordAdmin):
    list_display = ["title", "city", "kind", "status", "signed_on", "expires_on", "visibility"]
    list_filter = ["kind", "status", "visibility"]
    search_fields = ["title", "summary", "external_id", "city__name"]
    autocomplete_fields = ["city", "counterpart_cities", "counterpart_organizations", "named_countries"]
    filter_horizontal = ["topics"]
    writable_fields = [*AGREEMENT_FIELDS, *RELATION_FIELDS]

    def save_record(self, *, actor, data, record):
        return save_agreement(actor=actor, data=data, agreement=record)


@admin.register(Engagement)
class EngagementAdmin(CityRecordAdmin):
    list_display = ["title", "city", "kind", "status", "start_date", "visibility", "review_status"]
    list_filter = ["kind", "status", "visibility", "review_status", "federal_coordination_requested"]
    search_fields = ["title", "summary", "external_id", "city__name"]
    autocomplete_fields = [
        "city",
        "location_city",
        "counterpart_cities",
        "counterpart_organizations",
        "named_countries",
        "agreement",
    ]
    filter_horizontal = ["topics"]
    readonly_fields = [*CityRecordAdmin.readonly_fields, "review_status"]
    inlines = [ParticipantInline]
    writable_fields = [*ENGAGEMENT_FIELDS, *RELATION_FIELDS]

    def save_record(self, *, actor, data, record):
        return save_engagement(actor=actor, data=data, engagement=record)


@admin.register(FollowUp)
class FollowUpAdmin(SimpleHistoryAdmin):
    list_display = ["description", "engagement", "due_on", "assignee", "done_at"]
    search_fields = ["description", "engagement__title"]
    autocomplete_fields = ["engagement", "assignee"]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in FOLLOW_UP_FIELDS if name in form.cleaned_data}
        saved = save_follow_up(actor=request.user, data=data, follow_up=obj if change else None)
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin):
    """Reviews are read here; a decision is made in the review queue, which keeps the
    engagement's review status and tells its city's staff."""

    list_display = ["engagement", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
    search_fields = ["engagement__title", "comment", "reviewer__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
