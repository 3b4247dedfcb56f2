"""The email for one notification: plain text and HTML, an absolute link to the record, and
times in the recipient's city's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Kind, Notification


def home_timezone(user, *, also=()) -> dt.tzinfo:
    """The zone of the user's home city; for liaisons, who have none, that of the first city in
    `also` that has one; UTC when nothing says."""
    for city in [*user.home_cities.all(), *also]:
        if city.timezone:
            try:
                return ZoneInfo(city.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return dt.UTC


def recipient_timezone(notification: Notification) -> dt.tzinfo:
    record = notification.agreement or notification.engagement
    return home_timezone(notification.recipient, also=[record.city] if record is not None else [])


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def details(notification: Notification) -> list[tuple[str, str]]:
    """The facts the email lists under its title, as (label, value)."""
    engagement, agreement = notification.engagement, notification.agreement
    data = notification.data
    if notification.kind == Kind.ENGAGEMENT_ALERT:
        dates = engagement.start_date.isoformat()
        if engagement.end_date and engagement.end_date != engagement.start_date:
            dates += f" to {engagement.end_date.isoformat()}"
        return [
            ("Why", "; ".join(data.get("reasons", []))),
            ("City", engagement.city.label),
            ("Kind", engagement.get_kind_display()),
            ("Dates", dates),
            ("Status", engagement.get_status_display()),
        ]
    if notification.kind == Kind.REVIEW:
        review = notification.review
        reviewed_at = timezone.localtime(review.created_at)
        rows = [
            ("Engagement", engagement.title),
            ("Decision", review.get_decision_display()),
            ("Reviewer", review.reviewer.display_name()),
            ("Reviewed", reviewed_at.strftime("%Y-%m-%d %H:%M %Z")),
        ]
        return rows + ([("Comment", review.comment)] if review.comment else [])
    if notification.kind == Kind.AGREEMENT_EXPIRING:
        return [
            ("Agreement", agreement.title),
            ("City", agreement.city.label),
            ("Expires on", agreement.expires_on.isoformat() if agreement.expires_on else ""),
            ("Status", agreement.get_status_display()),
        ]
    if notification.kind in (Kind.FOLLOW_UP_DUE, Kind.FOLLOW_UP_OVERDUE):
        follow_up = notification.follow_up
        return [
            ("Follow-up", follow_up.description),
            ("Due on", follow_up.due_on.isoformat() if follow_up.due_on else ""),
            ("Engagement", engagement.title),
        ]
    return []


def build_email(notification: Notification, *, digest: dict | None = None, connection=None) -> EmailMultiAlternatives:
    zone = recipient_timezone(notification)
    with timezone.override(zone):
        context = {
            "notification": notification,
            "recipient": notification.recipient,
            "details": details(notification),
            "digest": digest,
            "link": absolute_url(notification.get_absolute_url()),
            "engagement_base": absolute_url("/engagements/"),
            "agreement_base": absolute_url("/agreements/"),
            "preferences_link": absolute_url("/notifications/preferences/"),
            "created_at": timezone.localtime(notification.created_at).strftime("%Y-%m-%d %H:%M %Z"),
        }
        text = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
    subject = " ".join(f"City Diplomacy Tracker: {notification.title}".split())[:250]
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[notification.recipient.email], connection=connection
    )
    message.attach_alternative(html, "text/html")
    return message
