from django.contrib import admin

from .models import CalendarFeed


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Feeds are issued by their owners at /calendar/; an admin sees them and may delete one (which
    ends its URL as revoking does)."""

    list_display = ["__str__", "user", "covers", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["user"]
    search_fields = ["label", "user__username"]
    readonly_fields = ["user", "label", "covers", "created_at", "last_used_at", "revoked_at"]
    exclude = ["token_digest"]

    def has_add_permission(self, request):
        return False
