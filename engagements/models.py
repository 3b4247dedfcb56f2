"""What cities do abroad: agreements, engagements with their participants, follow-ups and
liaison reviews."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from cities.models import City, Country, Organization, Topic
from contacts.models import Contact
from utilities.dates import date_range_errors

from .querysets import AgreementQuerySet, EngagementQuerySet, FollowUpQuerySet, ReviewQuerySet
from .write_path import check_write_path


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    RESTRICTED = "restricted", "Restricted"


class CityRecord(models.Model):
    """Fields shared by agreements and engagements: the owning home city, counterparts,
    topics, visibility and the bookkeeping that optimistic locking and history need."""

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="%(class)ss")
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    counterpart_cities = models.ManyToManyField(City, blank=True, related_name="%(class)s_counterparts")
    counterpart_organizations = models.ManyToManyField(Organization, blank=True, related_name="%(class)s_counterparts")
    # Countries named directly; `counterpart_countries` adds those of the cities and organisations.
    named_countries = models.ManyToManyField(Country, blank=True, related_name="+")
    counterpart_countries = models.ManyToManyField(Country, blank=True, related_name="%(class)s_counterparts")
    topics = models.ManyToManyField(Topic, blank=True, related_name="%(class)ss")
    is_demo = models.BooleanField(default=False, help_text="Generated demonstration data.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # Bumped by every write; the ETag and the stale-edit check compare it.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        check_write_path(type(self))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        check_write_path(type(self))
        return super().delete(*args, **kwargs)

    @property
    def etag(self):
        return f'"{self.pk}-{self.version}"'


class Agreement(CityRecord):
    """A sister-city agreement, MOU or other instrument a home city has with counterparts."""

    class Kind(models.TextChoices):
        SISTER_CITY = "sister_city", "Sister city"
        FRIENDSHIP_CITY = "friendship_city", "Friendship city"
        MEMORANDUM_OF_UNDERSTANDING = "memorandum_of_understanding", "Memorandum of understanding"
        COOPERATION_AGREEMENT = "cooperation_agreement", "Cooperation agreement"
        LETTER_OF_INTENT = "letter_of_intent", "Letter of intent"
        DECLARATION = "declaration", "Declaration"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        NEGOTIATING = "negotiating", "Negotiating"
        SIGNED = "signed", "Signed"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        EXPIRED = "expired", "Expired"
        TERMINATED = "terminated", "Terminated"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    signed_on = models.DateField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    # The lifecycle (SPEC §8.3): when it is due for renewal, what authorised it, and (derived,
    # kept by `lifecycle.refresh_last_activity`) the latest engagement under it or with its
    # counterparts.
    renewal_due_on = models.DateField(null=True, blank=True)
    authorized_by = models.CharField(
        max_length=200, blank=True, help_text="What authorised it, e.g. a council resolution number."
    )
    last_activity_on = models.DateField(null=True, blank=True, editable=False)

    objects = AgreementQuerySet.as_manager()

    history = HistoricalRecords(
        m2m_fields=["counterpart_cities", "counterpart_organizations", "named_countries", "topics"],
        excluded_fields=["updated_at", "last_activity_on"],
    )

    class Meta:
        ordering = ["-signed_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(signed_on__isnull=True) | Q(expires_on__gte=F("signed_on")),
                name="agreement_expires_after_signed",
            ),
            models.UniqueConstraint(
                fields=["city", "external_id"],
                condition=Q(external_id__isnull=False),
                name="agreement_unique_external_id_per_city",
            ),
        ]
        indexes = [
            models.Index(fields=["city", "signed_on"], name="agreement_city_signed_idx"),
            models.Index(fields=["visibility", "signed_on"], name="agreement_vis_signed_idx"),
            models.Index(fields=["kind"], name="agreement_kind_idx"),
            models.Index(fields=["status", "expires_on"], name="agreement_status_expires_idx"),
            models.Index(fields=["expires_on"], name="agreement_expires_idx"),
            models.Index(fields=["title"], name="agreement_title_idx"),
            models.Index(fields=["last_activity_on"], name="agreement_last_activity_idx"),
        ]

    LAPSING_STATUSES = ("active", "signed")

    def is_lapsed(self, today) -> bool:
        """Active or signed, but its expiry date has passed (SPEC §8.3)."""
        return self.status in self.LAPSING_STATUSES and self.expires_on is not None and self.expires_on < today

    def clean(self):
        super().clean()
        errors = date_range_errors(self)
        if self.signed_on and self.expires_on and self.expires_on < self.signed_on and "expires_on" not in errors:
            errors["expires_on"] = ["Must be on or after signed_on (the signing date)."]
        if errors:
            raise ValidationError(errors)


class Engagement(CityRecord):
    """A delegation, meeting, summit, statement or other act of a home city abroad or at home."""

    class Kind(models.TextChoices):
        INBOUND_DELEGATION = "inbound_delegation", "Inbound delegation"
        OUTBOUND_DELEGATION = "outbound_delegation", "Outbound delegation"
        BILATERAL_MEETING = "bilateral_meeting", "Bilateral meeting"
        MULTILATERAL_SUMMIT = "multilateral_summit", "Multilateral summit"
        CONFERENCE = "conference", "Conference"
        VIRTUAL_MEETING = "virtual_meeting", "Virtual meeting"
        AGREEMENT_SIGNING = "agreement_signing", "Agreement signing"
        TRADE_MISSION = "trade_mission", "Trade mission"
        CULTURAL_EXCHANGE = "cultural_exchange", "Cultural exchange"
        PUBLIC_STATEMENT = "public_statement", "Public statement"
        DIGNITARY_VISIT = "dignitary_visit", "Dignitary visit"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class ReviewStatus(models.TextChoices):
        UNREVIEWED = "unreviewed", "Unreviewed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NEEDS_FOLLOW_UP = "needs_follow_up", "Needs follow-up"
        FLAGGED = "flagged", "Flagged"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    location_city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    venue = models.CharField(max_length=300, blank=True)
    outcomes = models.TextField(blank=True)
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.SET_NULL, related_name="engagements"
    )
    federal_coordination_requested = models.BooleanField(default=False)
    # The latest review's decision, kept by the review service so the queue can filter on it.
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED, editable=False
    )

    objects = EngagementQuerySet.as_manager()

    history = HistoricalRecords(
        m2m_fields=["counterpart_cities", "counterpart_organizations", "named_countries", "topics"],
        excluded_fields=["updated_at", "review_status"],
    )

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="engagement_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["city", "external_id"],
                condition=Q(external_id__isnull=False),
                name="engagement_unique_external_id_per_city",
            ),
        ]
        indexes = [
            models.Index(fields=["city", "start_date"], name="engagement_city_start_idx"),
            models.Index(fields=["visibility", "start_date"], name="engagement_vis_start_idx"),
            models.Index(fields=["start_date", "id"], name="engagement_start_idx"),
            models.Index(fields=["kind", "start_date"], name="engagement_kind_start_idx"),
            models.Index(fields=["status"], name="engagement_status_idx"),
            models.Index(fields=["review_status", "start_date"], name="engagement_review_idx"),
            models.Index(
                fields=["start_date"],
                condition=Q(federal_coordination_requested=True),
                name="engagement_fedcoord_idx",
            ),
            models.Index(fields=["title"], name="engagement_title_idx"),
        ]

    def clean(self):
        super().clean()
        errors = date_range_errors(self)
        if self.start_date and self.end_date and self.end_date < self.start_date and "end_date" not in errors:
            errors["end_date"] = ["Must be on or after start_date (the start date)."]
        if errors:
            raise ValidationError(errors)


class Participant(models.Model):
    """A person taking part in an engagement, on the home city's side or the counterpart's."""

    class Side(models.TextChoices):
        HOME = "home", "Home city"
        COUNTERPART = "counterpart", "Counterpart"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="participants")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    side = models.CharField(max_length=12, choices=Side.choices, default=Side.HOME)
    # The directory entry this participant is (SPEC §8.4); the name, title and organisation above
    # stay as written for the engagement, so a later edit of the contact does not rewrite history.
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="participants")

    history = HistoricalRecords()

    class Meta:
        ordering = ["engagement", "side", "id"]

    def __str__(self):
        return self.name


class FollowUp(models.Model):
    """Something to do after an engagement, with a due date and an assignee."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="follow_ups")
    description = models.TextField()
    due_on = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    objects = FollowUpQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["due_on"], condition=Q(done_at__isnull=True), name="followup_open_due_idx")]

    def __str__(self):
        return self.description[:60]

    def clean(self):
        super().clean()
        errors = date_range_errors(self)
        if errors:
            raise ValidationError(errors)


class Review(models.Model):
    """A liaison's decision on an engagement; the latest one is the engagement's review status."""

    class Decision(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NEEDS_FOLLOW_UP = "needs_follow_up", "Needs follow-up"
        FLAGGED = "flagged", "Flagged"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ReviewQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.reviewer}"
