"""Files on agreements and engagements (SPEC §8.4): the signed text, the council resolution, the
briefing memo. Kept in the one upload storage (SPEC §8.5, `STORAGE_URL`), never served from a
public path: downloads go through a view that asks the access policy."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Document(models.Model):
    """One file on one agreement or one engagement."""

    class Kind(models.TextChoices):
        SIGNED_TEXT = "signed_text", "Signed text"
        COUNCIL_RESOLUTION = "council_resolution", "Council resolution"
        BRIEFING = "briefing", "Briefing"
        REPORT = "report", "Report"
        PHOTO = "photo", "Photo"
        OTHER = "other", "Other"

    agreement = models.ForeignKey(
        "engagements.Agreement", null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    engagement = models.ForeignKey(
        "engagements.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(max_length=300)
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=200)
    # The name it was uploaded under (for the download), and the type read from its content.
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    is_public = models.BooleanField(
        default=False, help_text="Shown to partners and the public when the record itself is public."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(agreement__isnull=False, engagement__isnull=True)
                | Q(agreement__isnull=True, engagement__isnull=False),
                name="document_on_one_record",
            ),
            # The same file twice on one record is refused (the service says so first).
            models.UniqueConstraint(fields=["agreement", "sha256"], name="document_unique_file_per_agreement"),
            models.UniqueConstraint(fields=["engagement", "sha256"], name="document_unique_file_per_engagement"),
        ]

    def __str__(self):
        return self.title

    @property
    def record(self):
        return self.agreement if self.agreement_id else self.engagement

    @property
    def record_type(self) -> str:
        return "agreement" if self.agreement_id else "engagement"

    @property
    def record_id(self) -> int:
        return self.agreement_id or self.engagement_id
