"""Notifications: one record per recipient and event, shown in the in-app inbox and, where the
recipient's preferences allow, emailed once."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .querysets import NotificationQuerySet


class Kind(models.TextChoices):
    ENGAGEMENT_ALERT = "engagement_alert", "Engagement for federal attention"
    REVIEW = "review", "Liaison review"
    AGREEMENT_EXPIRING = "agreement_expiring", "Agreement expiring"
    FOLLOW_UP_DUE = "follow_up_due", "Follow-up due tomorrow"
    FOLLOW_UP_OVERDUE = "follow_up_overdue", "Follow-up overdue"
    WEEKLY_DIGEST = "weekly_digest", "Weekly portfolio digest"
    AGREEMENT_ALERT = "agreement_alert", "Agreement for federal attention"
    AGREEMENT_LAPSED = "agreement_lapsed", "Agreement lapsed"
    COMPLIANCE_FLAG = "compliance_flag", "State-law compliance flag raised"
    COMPLIANCE_DEADLINE = "compliance_deadline", "State-law compliance deadline"


class EmailState(models.TextChoices):
    PENDING = "pending", "Pending"
    # Claimed by one worker; never claimed again, so a message goes out at most once.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # No email wanted: the recipient turned this kind off, has no address, or may no longer
    # see the record.
    SKIPPED = "skipped", "Not emailed"


class Notification(models.Model):
    """One event for one recipient. `(recipient, kind, object_key, period)` is the event's
    identity: it is claimed by the insert, so a repeated or concurrent trigger finds it taken."""

    # Indexed by the unique key and the inbox index, which both lead with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # What the event is about, e.g. `agreement:42`, and which occurrence of it: the threshold
    # with the expiry date, the engagement version, the digest's ISO week.
    object_key = models.CharField(max_length=64)
    period = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=400)
    data = models.JSONField(default=dict, blank=True)
    # A notice is about one or two of these and the rest are empty: partial indexes (see Meta)
    # cost nothing to write for the empty ones, and still find a deleted record's notices.
    engagement = models.ForeignKey(
        "engagements.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agreement = models.ForeignKey(
        "engagements.Agreement", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    follow_up = models.ForeignKey(
        "engagements.FollowUp", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    review = models.ForeignKey(
        "engagements.Review", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=8, choices=EmailState.choices, default=EmailState.PENDING)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_attempted_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "object_key", "period"], name="notification_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread_idx"),
            *[
                models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"notification_{name}_idx")
                for name in ("engagement", "agreement", "follow_up", "review")
            ],
            models.Index(
                fields=["email_attempted_at"],
                condition=Q(email_state__in=["pending", "sending"]),
                name="notification_email_open_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        """The page of the record the notification is about."""
        if self.kind == Kind.WEEKLY_DIGEST:
            return "/review/"
        if self.agreement_id:
            return f"/agreements/{self.agreement_id}/"
        if self.engagement_id:
            return f"/engagements/{self.engagement_id}/"
        return "/notifications/"

    @property
    def is_read(self):
        return self.read_at is not None


class EmailPreference(models.Model):
    """Whether a user wants email for one kind of notification; without a row, they do.
    The in-app inbox always receives everything."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="email_preference_unique")]

    def __str__(self):
        return f"{self.user}: {self.get_kind_display()} by email {'on' if self.email else 'off'}"
