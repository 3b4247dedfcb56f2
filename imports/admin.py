from django.contrib import admin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "original_name",
        "owner",
        "status",
        "dry_run",
        "total_rows",
        "processed_rows",
        "error_count",
        "attempts",
        "created_at",
    ]
    list_filter = ["status", "kind", "dry_run"]
    readonly_fields = [field.name for field in ImportJob._meta.fields]
