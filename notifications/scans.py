"""The scheduled scans: agreements nearing expiry and follow-ups due or overdue, each notice
given once per recipient and event.

The scans run over every agreement and open follow-up, so each takes the same few statements
however many notices it gives: one reads the distinct (recipient, visibility, city)
combinations the notices would reach, so the policy decides each combination once, in Python,
on those users; then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING` writes the
notices of the combinations it allowed, their titles, data and email state computed in SQL.
"""

import datetime as dt
import json
from collections.abc import Iterable
from contextlib import contextmanager

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
from accounts.policy import Action, can, preload_access
from engagements.models import Agreement, Engagement, FollowUp

from .delivery import UNIQUE_KEY
from .models import EmailPreference, EmailState, Kind, Notification

EXPIRY_NOTICE_DAYS = (7, 30, 90)
EXPIRING_STATUSES = [Agreement.Status.SIGNED, Agreement.Status.ACTIVE, Agreement.Status.SUSPENDED]


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


@_scan_transaction()
def scan_lapsed_agreements(today: dt.date | None = None) -> list[int]:
    """Tell the owning city's staff, once, about each active or signed agreement whose expiry date
    has passed (SPEC §8.3). The expiry date is part of the event: renewed and lapsed again is a
    new notice."""
    today = today or timezone.localdate()
    agreements = (
        Agreement.objects.filter(status__in=list(Agreement.LAPSING_STATUSES), expires_on__lt=today)
        .filter(city__staff_users__role=Role.STAFF, city__staff_users__is_active=True)
        .annotate(
            n_recipient=F("city__staff_users__id"),
            n_object_key=Concat(Value("agreement:"), _text("pk"), output_field=CharField()),
            n_period=Concat(Value("lapsed:"), _text("expires_on"), output_field=CharField()),
        )
    )
    combinations = agreements.values_list("n_recipient", "visibility", "city_id").distinct().order_by()
    allowed = _allowed_keys(combinations, lambda visibility, city_id: Agreement(visibility=visibility, city_id=city_id))
    if not allowed:
        return []
    rows = agreements.filter(_KeyIn(_access_key(F("n_recipient"), F("visibility"), F("city_id")), allowed)).annotate(
        n_kind=Value(Kind.AGREEMENT_LAPSED.value),
        n_title=Concat(
            Value("Agreement lapsed (expired "),
            _text("expires_on"),
            Value(", still "),
            F("status"),
            Value("): "),
            F("title"),
            output_field=CharField(),
        ),
        n_data=JSONObject(expires_on=_text("expires_on"), status=F("status")),
        n_engagement=Value(None, output_field=IntegerField()),
        n_agreement=F("pk"),
        n_follow_up=Value(None, output_field=IntegerField()),
    )
    return _insert_notices(rows)
