"""Who learns of what: notifications created once per recipient and event, emailed at most once.

Creation claims the event's unique key with `INSERT ... ON CONFLICT DO NOTHING RETURNING id`, so
only the caller whose insert went in gets the id back, and only that caller enqueues the email.
Sending claims the email with a conditional UPDATE from `pending` to `sending`; the worker whose
update touched the row sends it, every other one skips it.
"""

import datetime as dt
import json
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, JSONObject, Left
from django.utils import timezone

from accounts.models import Role, User
from accounts.policy import Action, can, portfolio_states, preload_access, role_of, visible_q
from cities.models import WatchedCountry
from engagements.models import Agreement, Engagement, FollowUp, Review

from .emails import build_email
from .models import EmailPreference, EmailState, Kind, Notification

logger = logging.getLogger(__name__)

EXPIRY_NOTICE_DAYS = (7, 30, 90)
EXPIRING_STATUSES = [Agreement.Status.SIGNED, Agreement.Status.ACTIVE, Agreement.Status.SUSPENDED]
DIGEST_ITEMS_SHOWN = 50
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


def _may_see(users: Iterable[User], record) -> list[User]:
    return [user for user in users if user.is_active and can(user, Action.VIEW, record)]


def _city_staff(city_ids: Iterable[int]) -> dict[int, list[User]]:
    """Active staff of each city, with their access preloaded for policy checks."""
    through = User.home_cities.through
    pairs = list(
        through.objects.filter(city_id__in=set(city_ids), user__role=Role.STAFF, user__is_active=True).values_list(
            "city_id", "user_id"
        )
    )
    users = {user.pk: user for user in User.objects.filter(pk__in={user_id for _, user_id in pairs})}
    preload_access(users.values())
    staff = defaultdict(list)
    for city_id, user_id in pairs:
        staff[city_id].append(users[user_id])
    return staff


def attention_reasons(engagement: Engagement) -> list[str]:
    """Why liaisons should look at this engagement: a federal-coordination request and each
    counterpart country on the watch list."""
    reasons = ["Federal coordination requested"] if engagement.federal_coordination_requested else []
    watched = WatchedCountry.objects.filter(country__in=engagement.counterpart_countries.all()).select_related(
        "country"
    )
    reasons += [f"Watch-list counterpart: {watch.country.name}" for watch in watched]
    return reasons


def needs_liaison_attention(engagement: Engagement) -> bool:
    """The cheap test the engagement service makes before it enqueues the alert job."""
    return (
        engagement.federal_coordination_requested
        or engagement.counterpart_countries.filter(watch__isnull=False).exists()
    )


def notify_engagement_alert(engagement_id: int) -> list[int]:
    """Tell the liaisons whose portfolio covers the engagement's state that it requests federal
    coordination or has a watch-list counterpart. Each version of the engagement is one event."""
    engagement = Engagement.objects.select_related("city").filter(pk=engagement_id).first()
    if engagement is None:
        return []
    reasons = attention_reasons(engagement)
    if not reasons:
        return []
    liaisons = list(
        User.objects.filter(role=Role.LIAISON, is_active=True)
        .filter(Q(portfolio_all=True) | Q(portfolio_states__subdivision=engagement.city.subdivision))
        .distinct()
    )
    preload_access(liaisons)
    novelty = "New" if engagement.version == 1 else "Changed"
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=Kind.ENGAGEMENT_ALERT,
                object_key=f"engagement:{engagement.pk}",
                period=f"v{engagement.version}",
                title=f"{novelty} engagement for federal attention: {engagement.title} ({engagement.city.label})",
                data={"reasons": reasons},
                engagement=engagement,
            )
            for user in _may_see(liaisons, engagement)
        ]
    )


def notify_review(review_id: int) -> list[int]:
    """Tell the engagement's author and its city's staff what a liaison decided."""
    review = (
        Review.objects.select_related("engagement__city", "engagement__created_by", "reviewer")
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        return []
    engagement = review.engagement
    recipients = {user.pk: user for user in _city_staff([engagement.city_id])[engagement.city_id]}
    if engagement.created_by is not None:
        recipients.setdefault(engagement.created_by_id, engagement.created_by)
    recipients.pop(review.reviewer_id, None)
    preload_access(recipients.values())
    reviewer = review.reviewer.display_name()
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=Kind.REVIEW,
                object_key=f"review:{review.pk}",
                title=f"{review.get_decision_display()} by {reviewer}: {engagement.title}",
                data={
                    "decision": review.get_decision_display(),
                    "reviewer": reviewer,
                    "comment": review.comment[:2000],
                },
                engagement=engagement,
                review=review,
            )
            for user in _may_see(recipients.values(), review)
        ]
    )


# --- Scheduled scans -------------------------------------------------------------------------
#
# The scans run over every agreement and open follow-up, so each takes the same few statements
# however many notices it gives: one reads the distinct (recipient, visibility, city)
# combinations the notices would reach, so the policy decides each combination once, in Python,
# on those users; then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING` writes the
# notices of the combinations it allowed, their titles, data and email state computed in SQL.


class _KeyIn(Func):
    """`expression` is one of `keys`, passed as one parameter so the statement stays the same
    size however many keys there are (and within the database's limit on parameters)."""

    output_field = BooleanField()

    def __init__(self, expression, keys: Iterable[str]):
        super().__init__(expression)
        self.keys = sorted(keys)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(self.keys)]  # noqa: S608

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql})::text = ANY(%s::text[])", [*params, self.keys]


class _FirstLine(Func):
    """The text up to its first line break, as `str.splitlines()[0]` cuts it."""

    output_field = TextField()
    BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # SQLite has no regular expressions: the earliest position of any break, if there is one.
        positions = ", ".join(f"coalesce(nullif(instr({sql}, %s), 0), length({sql}) + 1)" for _ in self.BREAKS)
        parameters = [value for character in self.BREAKS for value in (*params, character, *params)]
        return f"substr({sql}, 1, min({positions}) - 1)", [*params, *parameters]

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        # `.` matches line breaks too unless told otherwise, so this drops everything after the first.
        return f"regexp_replace({sql}, %s, '')", [*params, f"[{self.BREAKS}].*$"]


def _text(expression) -> Cast:
    return Cast(expression, CharField())


def _access_key(user, visibility, city) -> Concat:
    return Concat(_text(user), Value(":"), visibility, Value(":"), _text(city), output_field=CharField())


def _allowed_keys(combinations: Iterable[tuple[int, str, int]], record) -> set[str]:
    """The `user:visibility:city` combinations whose user may see a record with that visibility
    and city, as the policy decides for `record(visibility=..., city_id=...)`."""
    combinations = list(combinations)
    users = {user.pk: user for user in User.objects.filter(pk__in={user_id for user_id, _, _ in combinations})}
    preload_access(users.values())
    allowed = set()
    for user_id, visibility, city_id in combinations:
        user = users.get(user_id)
        if user is not None and user.is_active and can(user, Action.VIEW, record(visibility, city_id)):
            allowed.add(f"{user_id}:{visibility}:{city_id}")
    return allowed


NOTICE_COLUMNS = {
    "recipient_id": "n_recipient",
    "kind": "n_kind",
    "object_key": "n_object_key",
    "period": "n_period",
    "title": "n_title",
    "data": "n_data",
    "engagement_id": "n_engagement",
    "agreement_id": "n_agreement",
    "follow_up_id": "n_follow_up",
    "created_at": "n_created_at",
    "email_state": "n_email_state",
    "email_attempts": "n_email_attempts",
    "email_error": "n_email_error",
}


def _insert_notices(rows: QuerySet) -> list[int]:
    """Write the notices `rows` describes (annotated with the `n_*` names above, less the
    bookkeeping added here), each unless its event is already claimed; return the ids of those
    written here that want an email.

    A notice already given is found by the conflict on the unique key alone: an exact probe of
    its index, where a `NOT EXISTS` over the same columns is left to the planner, which on
    stale statistics may scan the index without its leading column for every row."""
    no_address = User.objects.filter(pk=OuterRef("n_recipient"), email="")
    opted_out = EmailPreference.objects.filter(user=OuterRef("n_recipient"), kind=OuterRef("n_kind"), email=False)
    rows = rows.annotate(
        n_created_at=Value(timezone.now(), output_field=DateTimeField()),
        n_email_state=Case(
            When(Exists(no_address) | Exists(opted_out), then=Value(EmailState.SKIPPED.value)),
            default=Value(EmailState.PENDING.value),
            output_field=CharField(),
        ),
        n_email_attempts=Value(0),
        n_email_error=Value(""),
    )
    # Workers inserting the same events wait on each other's keys; taking them in one order
    # everywhere means they queue instead of deadlocking.
    rows = rows.values(*NOTICE_COLUMNS.values()).order_by("n_recipient", "n_kind", "n_object_key", "n_period")
    select, params = rows.query.get_compiler(connection=connection).as_sql()
    quote = connection.ops.quote_name
    meta = Notification._meta
    columns = ", ".join(quote(column) for column in NOTICE_COLUMNS)
    conflict = ", ".join(quote(meta.get_field(name).column) for name in UNIQUE_KEY)
    # Names come from the model's metadata and every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) {select} "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote('id')}, {quote('email_state')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(pk for pk, state in cursor.fetchall() if state == EmailState.PENDING)


@contextmanager
def _scan_transaction():
    """A scan's statements in one transaction. PostgreSQL's JIT compiler is turned off for it:
    their CASE branches and subqueries look costly to the planner, and compiling them takes
    longer (up to half a second) than running them."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


@_scan_transaction()
def scan_expiring_agreements(today: dt.date | None = None) -> list[int]:
    """Tell the owning city's staff about each agreement that comes within 90, 30 and 7 days of
    its expiry, once per notice. A scan that missed days sends only the notice now due."""
    today = today or timezone.localdate()
    last = today + dt.timedelta(days=max(EXPIRY_NOTICE_DAYS))
    notice_days = Case(
        *[When(expires_on__lte=today + dt.timedelta(days=days), then=Value(days)) for days in EXPIRY_NOTICE_DAYS],
        output_field=IntegerField(),
    )
    # The expiry date is part of the event: an agreement renewed to a new date is announced again.
    period = Concat(_text("expires_on"), Value("/"), _text(notice_days), Value("d"), output_field=CharField())
    # One row per agreement and active member of its city's staff (the annotation reuses the
    # filter's join).
    agreements = (
        Agreement.objects.filter(status__in=EXPIRING_STATUSES, expires_on__gte=today, expires_on__lte=last)
        .filter(city__staff_users__role=Role.STAFF, city__staff_users__is_active=True)
        .annotate(
            n_recipient=F("city__staff_users__id"),
            n_object_key=Concat(Value("agreement:"), _text("pk"), output_field=CharField()),
            n_period=period,
        )
    )
    combinations = agreements.values_list("n_recipient", "visibility", "city_id").distinct().order_by()
    allowed = _allowed_keys(combinations, lambda visibility, city_id: Agreement(visibility=visibility, city_id=city_id))
    if not allowed:
        return []

    def when(days_left: int) -> str:
        return "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"

    # At most 91 expiry dates are in the window, so each one's wording is a constant.
    heading = Case(
        *[
            When(expires_on=day, then=Value(f"Agreement expires {when(offset)} ({day.isoformat()}): "))
            for offset in range((last - today).days + 1)
            for day in [today + dt.timedelta(days=offset)]
        ],
        output_field=CharField(),
    )
    rows = agreements.filter(_KeyIn(_access_key(F("n_recipient"), F("visibility"), F("city_id")), allowed)).annotate(
        n_kind=Value(Kind.AGREEMENT_EXPIRING.value),
        n_title=Concat(heading, F("title"), output_field=CharField()),
        n_data=JSONObject(notice_days=notice_days, expires_on=_text("expires_on")),
        n_engagement=Value(None, output_field=IntegerField()),
        n_agreement=F("pk"),
        n_follow_up=Value(None, output_field=IntegerField()),
    )
    return _insert_notices(rows)


@_scan_transaction()
def scan_follow_ups(today: dt.date | None = None) -> list[int]:
    """Tell each assignee about an open follow-up due tomorrow, and once when it is overdue."""
    today = today or timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    overdue = Q(due_on__lt=today)
    kind = Case(
        When(overdue, then=Value(Kind.FOLLOW_UP_OVERDUE.value)),
        default=Value(Kind.FOLLOW_UP_DUE.value),
        output_field=CharField(),
    )
    # Overdue ones are announced once whenever they fell due, so only an upper bound.
    follow_ups = (
        FollowUp.objects.open()
        .filter(assignee__is_active=True, due_on__lte=tomorrow)
        .annotate(
            n_recipient=F("assignee_id"),
            n_kind=kind,
            n_object_key=Concat(Value("follow_up:"), _text("pk"), output_field=CharField()),
            n_period=_text("due_on"),
        )
    )
    combinations = follow_ups.values_list("n_recipient", "engagement__visibility", "engagement__city_id").distinct()
    allowed = _allowed_keys(
        combinations.order_by(),
        lambda visibility, city_id: FollowUp(engagement=Engagement(visibility=visibility, city_id=city_id)),
    )
    if not allowed:
        return []
    description = Case(
        When(description="", then=Value("Follow-up")),
        default=Left(_FirstLine("description"), 200),
        output_field=CharField(),
    )
    rows = follow_ups.filter(
        _KeyIn(_access_key(F("n_recipient"), F("engagement__visibility"), F("engagement__city_id")), allowed)
    ).annotate(
        n_title=Concat(
            Case(When(overdue, then=Value("Overdue since ")), default=Value("Due "), output_field=CharField()),
            _text("due_on"),
            Value(": "),
            description,
            output_field=CharField(),
        ),
        n_data=JSONObject(due_on=_text("due_on"), engagement_title=F("engagement__title")),
        n_engagement=F("engagement_id"),
        n_agreement=Value(None, output_field=IntegerField()),
        n_follow_up=F("pk"),
    )
    return _insert_notices(rows)


def _digest_item(record, **extra) -> dict:
    return {"id": record.pk, "title": record.title, "city": record.city.label, **extra}


def send_weekly_digests(now: dt.datetime | None = None) -> list[int]:
    """Give every liaison a digest of the seven days before `now` in their portfolio: new
    engagements, flags raised by reviews, and agreements expiring in the next 90 days. A fixed
    number of queries whatever the number of liaisons; a week with nothing to report sends nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - dt.timedelta(days=7)
    year, week, _ = today.isocalendar()
    liaisons = list(User.objects.filter(role=Role.LIAISON, is_active=True))
    if not liaisons:
        return []
    preload_access(liaisons)
    new_engagements = list(
        Engagement.objects.filter(created_at__gt=since, created_at__lte=now)
        .select_related("city")
        .order_by("-created_at", "-id")
    )
    flags = list(
        Review.objects.filter(decision=Review.Decision.FLAGGED, created_at__gt=since, created_at__lte=now)
        .select_related("engagement__city", "reviewer")
        .order_by("-created_at", "-id")
    )
    expiring = list(
        Agreement.objects.filter(
            status__in=EXPIRING_STATUSES,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=max(EXPIRY_NOTICE_DAYS)),
        )
        .select_related("city")
        .order_by("expires_on", "id")
    )
    notifications = []
    for liaison in liaisons:
        states = portfolio_states(liaison)

        def covered(record, states=states, liaison=liaison):
            in_portfolio = states is None or record.city.subdivision in states
            return in_portfolio and can(liaison, Action.VIEW, record)

        mine_new = [e for e in new_engagements if covered(e)]
        mine_flags = [r for r in flags if covered(r.engagement)]
        mine_expiring = [a for a in expiring if covered(a)]
        if not (mine_new or mine_flags or mine_expiring):
            continue
        scope = "all states" if states is None else ", ".join(sorted(states))
        notifications.append(
            Notification(
                recipient=liaison,
                kind=Kind.WEEKLY_DIGEST,
                object_key="digest",
                period=f"{year}-W{week:02d}",
                title=(
                    f"Weekly digest ({scope}): {len(mine_new)} new engagements, {len(mine_flags)} flags, "
                    f"{len(mine_expiring)} agreements expiring within 90 days"
                ),
                data={
                    "week": f"{year}-W{week:02d}",
                    "counts": {"new": len(mine_new), "flags": len(mine_flags), "expiring": len(mine_expiring)},
                    "new_engagements": [
                        _digest_item(e, start_date=e.start_date.isoformat(), attention=e.federal_coordination_requested)
                        for e in mine_new[:DIGEST_ITEMS_SHOWN]
                    ],
                    "flags": [
                        _digest_item(
                            r.engagement, reviewer=r.reviewer.display_name(), comment=r.comment[:300], review_id=r.pk
                        )
                        for r in mine_flags[:DIGEST_ITEMS_SHOWN]
                    ],
                    "expiring": [
                        _digest_item(a, expires_on=a.expires_on.isoformat()) for a in mine_expiring[:DIGEST_ITEMS_SHOWN]
                    ],
                },
            )
        )
    return create_notifications(notifications)


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


# --- The inbox ---------------------------------------------------------------------------------


def mark_read(*, user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones without ids); return how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def email_kinds_for(user) -> list[Kind]:
    """The kinds of notification a user of this role can receive, for the preferences form."""
    role = role_of(user)
    if role == Role.LIAISON:
        return [Kind.ENGAGEMENT_ALERT, Kind.WEEKLY_DIGEST]
    if role == Role.STAFF:
        return [Kind.REVIEW, Kind.AGREEMENT_EXPIRING, Kind.FOLLOW_UP_DUE, Kind.FOLLOW_UP_OVERDUE]
    if role == Role.ADMIN:
        return list(Kind)
    return []


def email_preferences(user) -> dict[str, bool]:
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind.value: chosen.get(kind.value, True) for kind in email_kinds_for(user)}


def set_email_preferences(*, user, emailed_kinds: Iterable[str]) -> None:
    """Email the user for exactly these kinds (of those their role receives)."""
    wanted = set(emailed_kinds)
    for kind in email_kinds_for(user):
        EmailPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": kind.value in wanted})
