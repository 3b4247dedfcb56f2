from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Contact


@admin.register(Contact)
class ContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "organization", "home_city", "country", "email"]
    list_filter = ["country"]
    search_fields = ["name", "organization", "email"]
    raw_id_fields = ["home_city", "city", "created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at", "version"]
