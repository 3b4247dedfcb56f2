from rest_framework import serializers

from imports.models import ImportJob

# A detail answer lists this many row errors; the CSV report (`errors_csv`) has every one.
ERRORS_INLINE = 1000


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    file_name = serializers.CharField(source="original_name", read_only=True)
    page = serializers.CharField(source="page_url", read_only=True)
    errors_csv = serializers.CharField(source="errors_csv_url", read_only=True)
    # Columns the import ignored, each named once (SPEC §6).
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "format",
            "file_name",
            "file_size",
            "dry_run",
            "owner",
            "status",
            "message",
            "warnings",
            "total_rows",
            "processed_rows",
            "created",
            "updated",
            "unchanged",
            "error_count",
            "attempts",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "page",
            "errors_csv",
        ]
        read_only_fields = fields


class ImportJobDetailSerializer(ImportJobSerializer):
    """The job with its row errors. `errors` is added in `to_representation`: as a declared field
    its name would hide the serializer's own `errors`."""

    def to_representation(self, job):
        data = super().to_representation(job)
        errors = [error.as_dict() for error in job.row_errors.order_by("row", "id")[: ERRORS_INLINE + 1]]
        data["errors"] = errors[:ERRORS_INLINE]
        data["errors_truncated"] = len(errors) > ERRORS_INLINE
        return data


class ImportJobCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    dry_run = serializers.BooleanField(default=False)
