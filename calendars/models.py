"""Personal calendar feeds (SPEC §8.4): a secret URL per feed, stored only as its SHA-256 digest,
that a calendar program subscribes to. Revoking a feed ends its URL for good."""

import hashlib

from django.conf import settings
from django.db import models


def token_digest(token: str) -> str:
    """The stored form of a feed's secret: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CalendarFeedQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def of(self, user):
        return self.filter(user=user)


class CalendarFeed(models.Model):
    """One personal iCalendar feed URL of one user (`/calendar/<token>.ics`). The token itself is
    shown once, when the feed is issued; only its digest is kept. The feed holds what its owner may
    see, read through the access policy as that owner on every request; what the URL's query
    (`?city=`, `?state=`, `?kinds=`) narrows is chosen when the URL is issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    label = models.CharField(max_length=100, blank=True, help_text="The owner's name for it, e.g. “Work phone”.")
    # What the issued URL's query narrows the feed to, in words, for its owner's list (the URL
    # itself carries the query); empty: everything its owner may see.
    covers = models.CharField(max_length=500, blank=True)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.label or f"Calendar feed {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
