"""Import jobs: a spreadsheet or JSON file brought in by a user, processed by a Celery worker in
committed chunks, with its progress and every row problem kept for the report."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .querysets import ImportJobQuerySet


class ImportJob(models.Model):
    """One uploaded file and what became of it.

    `processed_rows` and the counters advance in the same transaction as the rows they count, so
    a worker that dies loses at most the chunk it was writing, and its successor resumes after the
    last committed chunk. `attempts` counts the workers that claimed the job; the one holding the
    latest attempt is the only one allowed to commit.
    """

    class Kind(models.TextChoices):
        CITIES = "cities", "Cities"
        ORGANIZATIONS = "organizations", "Organizations"
        MEMBERSHIPS = "memberships", "Network memberships"
        AGREEMENTS = "agreements", "Agreements"
        ENGAGEMENTS = "engagements", "Engagements"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        JSON = "json", "JSON"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField()
    file_sha256 = models.CharField(max_length=64, db_index=True)
    dry_run = models.BooleanField(default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Why a job failed as a whole (the file could not be read, the worker gave up).
    message = models.TextField(blank=True)
    # What the file had that the import ignored (a column the kind does not know), each named once.
    warnings = models.JSONField(default=list, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two real runs of one file at once would race each other's upserts.
            models.UniqueConstraint(
                fields=["file_sha256"],
                condition=Q(status__in=["queued", "running"], dry_run=False),
                name="import_one_active_run_per_file",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="import_status_heartbeat_idx")]

    def __str__(self):
        return f"Import #{self.pk} ({self.kind}, {self.original_name})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def page_url(self) -> str:
        return reverse("imports:job", args=[self.pk])

    @property
    def errors_csv_url(self) -> str:
        return reverse("imports:errors-csv", args=[self.pk])

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    def report(self) -> dict:
        """The job's report as the API and the command print it (errors listed separately)."""
        return {
            "id": self.pk,
            "kind": self.kind,
            "format": self.format,
            "file_name": self.original_name,
            "dry_run": self.dry_run,
            "status": self.status,
            "message": self.message,
            "warnings": self.warnings,
            "total_rows": self.total_rows,
            "processed_rows": self.processed_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "error_count": self.error_count,
        }


class ImportRowError(models.Model):
    """One problem found in one row: rows can have several, and a job can have very many, which is
    why they live in their own table rather than in a growing JSON column on the job."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    value = models.TextField(blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["job", "row", "id"]

    def __str__(self):
        return f"row {self.row} {self.column}: {self.message}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


class ImportSeenKey(models.Model):
    """The natural keys a job has met so far, so a record named twice in one file is reported
    rather than written twice; committed with each chunk, so a resumed job still remembers them,
    and deleted when the job ends."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+")
    digest = models.BigIntegerField()
    row = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "digest"], name="import_seen_key_unique")]

    def __str__(self):
        return f"{self.job_id}:{self.digest}"
