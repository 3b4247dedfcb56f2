from django.urls import reverse
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
    page = serializers.SerializerMethodField()
    errors_csv = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "kind", "format", "file_name", "file_size", "dry_run", "owner", "status", "message",
            "total_rows", "processed_rows", "created", "updated", "unchanged", "error_count", "attempts",
            "created_at", "started_at", "heartbeat_at", "finished_at", "page", "errors_csv",
        ]
        read_only_fields = fields

    def get_page(self, job) -> str:
        return reverse("imports:job", args=[job.pk])

    def get_errors_csv(self, job) -> str:
        return reverse("imports:errors-csv", args=[job.pk])


class ImportJobDetailSerializer(ImportJobSerializer):
    errors = serializers.SerializerMethodField()
    errors_truncated = serializers.SerializerMethodField()

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "errors", "errors_truncated"]
        read_only_fields = fields

    @staticmethod
    def _errors(job) -> list[dict]:
        if not hasattr(job, "_inline_errors"):
            job._inline_errors = [e.as_dict() for e in job.row_errors.order_by("row", "id")[: ERRORS_INLINE + 1]]
        return job._inline_errors

    def get_errors(self, job) -> list[ImportErrorSerializer]:
        return self._errors(job)[:ERRORS_INLINE]

    def get_errors_truncated(self, job) -> bool:
        return len(self._errors(job)) > ERRORS_INLINE


class ImportJobCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportJob.Kind.choices)
    dry_run = serializers.BooleanField(default=False)
