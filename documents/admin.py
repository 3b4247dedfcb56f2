from django.contrib import admin

from .models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Documents are added on their record's page or through the API, where the file is checked;
    here they can be read, made public or private, and removed."""

    list_display = ["title", "kind", "agreement", "engagement", "size", "is_public", "uploaded_at"]
    list_filter = ["kind", "is_public"]
    search_fields = ["title", "original_name", "sha256"]
    raw_id_fields = ["agreement", "engagement", "uploaded_by"]
    readonly_fields = [
        "agreement",
        "engagement",
        "file",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    ]

    def has_add_permission(self, request):
        return False
