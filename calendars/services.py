"""Writes of calendar feeds: issue one (the secret is returned once and never stored), revoke one,
note when one was last read."""

import datetime as dt
import secrets

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from accounts.policy import reads_internal

from .models import CalendarFeed, token_digest

# 256 bits of randomness, URL-safe: 43 characters.
TOKEN_BYTES = 32
# A feed's `last_used_at` is written at most this often: calendar programs poll every few minutes.
LAST_USED_PRECISION = dt.timedelta(minutes=15)


def may_subscribe(user) -> bool:
    """Calendar feeds are for internal readers (staff, liaisons, admins) whose account is active:
    partners read through the API only (SPEC §2), and the public has the portal."""
    return bool(user and user.is_authenticated and user.is_active and reads_internal(user))


def issue_feed(*, user, label: str = "", covers: str = "") -> tuple[CalendarFeed, str]:
    """A new feed for `user`, and its secret token: the only time the token exists in the clear."""
    if not may_subscribe(user):
        raise PermissionDenied("Calendar feeds are for staff, liaisons and administrators.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed.objects.create(
        user=user, label=label.strip()[:100], covers=covers[:500], token_digest=token_digest(token)
    )
    return feed, token


def revoke_feed(*, actor, feed: CalendarFeed) -> bool:
    """End `feed`'s URL for good. Only its owner (or an admin) may; True if this call revoked it,
    False if it was revoked already."""
    if feed.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied("Not your calendar feed.")
    now = timezone.now()
    revoked = CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        feed.revoked_at = now
    return bool(revoked)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The active feed whose secret is `token`, with its owner, or None (unknown, revoked, or an
    owner who may no longer subscribe: deactivated, or no longer an internal reader)."""
    feed = CalendarFeed.objects.active().select_related("user").filter(token_digest=token_digest(token)).first()
    if feed is None or not may_subscribe(feed.user):
        return None
    return feed


def note_use(feed: CalendarFeed) -> None:
    """Record that `feed` was read: one conditional UPDATE, which writes only when the last noted
    use is older than LAST_USED_PRECISION."""
    now = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ).update(last_used_at=now)
