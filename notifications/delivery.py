"""Creating notifications and delivering their emails, each exactly once.

Creation claims the event's unique key with `INSERT ... ON CONFLICT DO NOTHING RETURNING id`, so
only the caller whose insert went in gets the id back, and only that caller enqueues the email.
Sending claims the email with a conditional UPDATE from `pending` to `sending`; the worker whose
update touched the row sends it, every other one skips it.
"""

import datetime as dt
import logging
import smtplib
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Role
from accounts.policy import Action, can, preload_access, role_of, visible_q
from engagements.models import Agreement, Engagement

from .emails import build_email
from .models import EmailPreference, EmailState, Kind, Notification

logger = logging.getLogger(__name__)

INSERT_BATCH = 500
INSERT_BATCH_POSTGRES = 5000
UNIQUE_KEY = ("recipient", "kind", "object_key", "period")


def chunked(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Creating notifications ------------------------------------------------------------------


def _email_wanted(notifications: Sequence[Notification]) -> None:
    """Set each notification's email state from its recipient's address and preferences."""
    opted_out = set(
        EmailPreference.objects.filter(user_id__in={n.recipient_id for n in notifications}, email=False).values_list(
            "user_id", "kind"
        )
    )
    for notification in notifications:
        if not notification.recipient.email or (notification.recipient_id, notification.kind) in opted_out:
            notification.email_state = EmailState.SKIPPED


def create_notifications(notifications: Sequence[Notification]) -> list[int]:
    """Insert the notifications whose event nobody has claimed yet; return the ids of those
    inserted here that want an email. A retry, a repeated schedule or a concurrent worker
    inserting the same event gets nothing back."""
    if not notifications:
        return []
    _email_wanted(notifications)
    meta = Notification._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in UNIQUE_KEY)
    returning = f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote('id')}, {quote('email_state')}"
    # PostgreSQL takes one array per column, so the statement stays short whatever the number
    # of rows (a VALUES list of thousands of placeholders costs more to build than to run).
    postgres = connection.vendor == "postgresql"
    if postgres:
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        source = f"SELECT * FROM unnest({arrays})"  # noqa: S608
    # Workers inserting the same events wait on each other's keys; taking them in one order
    # everywhere means they queue instead of deadlocking.
    ordered = sorted(notifications, key=lambda n: (n.recipient_id, n.kind, n.object_key, n.period))
    emailed = []
    # One transaction: a worker that dies mid-way leaves no event half-announced.
    with transaction.atomic():
        for batch in chunked(ordered, INSERT_BATCH_POSTGRES if postgres else INSERT_BATCH):
            rows = [
                [field.get_db_prep_save(field.pre_save(n, add=True), connection) for field in fields] for n in batch
            ]
            if postgres:
                params = [list(column) for column in zip(*rows, strict=True)]
            else:
                source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(batch))
                params = [value for row in rows for value in row]
            # Names come from the model's metadata and every value is a parameter.
            sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) {source} {returning}"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                emailed.extend(pk for pk, state in cursor.fetchall() if state == EmailState.PENDING)
    return sorted(emailed)


# --- Email -----------------------------------------------------------------------------------


def _subject(notification: Notification):
    """The record the recipient must still be allowed to see for the email to go out."""
    return notification.review or notification.follow_up or notification.agreement or notification.engagement


def _visible_digest(notification: Notification) -> dict | None:
    """The digest's items the recipient may still see, read again at send time."""
    user, data = notification.recipient, notification.data
    if role_of(user) != Role.LIAISON:
        return None
    ids = {
        "new_engagements": {item["id"] for item in data.get("new_engagements", [])},
        "flags": {item["id"] for item in data.get("flags", [])},
        "expiring": {item["id"] for item in data.get("expiring", [])},
    }
    engagements = set(
        Engagement.objects.filter(visible_q(user), pk__in=ids["new_engagements"] | ids["flags"]).values_list(
            "pk", flat=True
        )
    )
    agreements = set(Agreement.objects.filter(visible_q(user), pk__in=ids["expiring"]).values_list("pk", flat=True))
    visible = dict(data)
    visible["new_engagements"] = [i for i in data.get("new_engagements", []) if i["id"] in engagements]
    visible["flags"] = [i for i in data.get("flags", []) if i["id"] in engagements]
    visible["expiring"] = [i for i in data.get("expiring", []) if i["id"] in agreements]
    if not (visible["new_engagements"] or visible["flags"] or visible["expiring"]):
        return None
    return visible


def _finish(notification: Notification, **changes) -> None:
    Notification.objects.filter(pk=notification.pk, email_state=EmailState.SENDING).update(**changes)


def deliver_emails(notification_ids: Sequence[int]) -> list[int]:
    """Email each of these notifications that is still pending, at most once each; return the
    ids whose sending failed and may be tried again. A final failure is kept on the record."""
    max_attempts = settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS
    notifications = list(
        Notification.objects.filter(pk__in=notification_ids, email_state=EmailState.PENDING)
        .select_related(
            "recipient",
            "engagement__city",
            "agreement__city",
            "follow_up__engagement",
            "review__engagement",
            "review__reviewer",
        )
        .prefetch_related("recipient__home_cities")
        .order_by("pk")
    )
    preload_access({n.recipient for n in notifications})
    opted_out = set(
        EmailPreference.objects.filter(user_id__in={n.recipient_id for n in notifications}, email=False).values_list(
            "user_id", "kind"
        )
    )
    retry = []
    mail = None
    for notification in notifications:
        # The claim: only the worker whose update moves this row out of `pending` sends it.
        claimed = Notification.objects.filter(
            pk=notification.pk, email_state=EmailState.PENDING, email_attempts=notification.email_attempts
        ).update(
            email_state=EmailState.SENDING,
            email_attempts=F("email_attempts") + 1,
            email_attempted_at=timezone.now(),
        )
        if not claimed:
            continue
        notification.email_attempts += 1
        recipient = notification.recipient
        digest = _visible_digest(notification) if notification.kind == Kind.WEEKLY_DIGEST else None
        subject = _subject(notification)
        allowed = recipient.is_active and (
            digest is not None if notification.kind == Kind.WEEKLY_DIGEST else can(recipient, Action.VIEW, subject)
        )
        if not allowed or not recipient.email or (recipient.pk, notification.kind) in opted_out:
            _finish(notification, email_state=EmailState.SKIPPED)
            continue
        try:
            message = build_email(notification, digest=digest)
        except Exception as error:
            # A message that cannot be built will not build on retry either; say so on the record.
            logger.exception("Email for notification %s could not be built", notification.pk)
            _finish(notification, email_state=EmailState.FAILED, email_error=f"{type(error).__name__}: {error}"[:2000])
            continue
        try:
            if mail is None:
                mail = get_connection()
                mail.open()
            message.connection = mail
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            if mail is not None:
                mail.close()
                mail = None
            final = notification.email_attempts >= max_attempts
            logger.warning(
                "Email for notification %s failed (attempt %s): %s", notification.pk, notification.email_attempts, error
            )
            _finish(
                notification,
                email_state=EmailState.FAILED if final else EmailState.PENDING,
                email_error=f"{type(error).__name__}: {error}"[:2000],
            )
            if not final:
                retry.append(notification.pk)
        else:
            _finish(notification, email_state=EmailState.SENT, email_sent_at=timezone.now(), email_error="")
    if mail is not None:
        mail.close()
    return retry


def sweep_emails(now: dt.datetime | None = None) -> list[int]:
    """The safety net run by beat: give up on emails whose worker died mid-send (sending them
    again could send them twice), and return pending ones whose job was lost."""
    now = now or timezone.now()
    stale = now - dt.timedelta(hours=1)
    Notification.objects.filter(email_state=EmailState.SENDING, email_attempted_at__lt=stale).update(
        email_state=EmailState.FAILED,
        email_error="The worker stopped while sending; not sent again, so it cannot arrive twice.",
    )
    return list(
        Notification.objects.filter(email_state=EmailState.PENDING, created_at__lt=now - dt.timedelta(minutes=10))
        .filter(Q(email_attempted_at__isnull=True) | Q(email_attempted_at__lt=stale))
        .order_by("pk")
        .values_list("pk", flat=True)[:10_000]
    )
