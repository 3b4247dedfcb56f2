"""The engagement list's pages, read as plain rows rather than through model instances.

Partners page through millions of engagements. Through the serializer, a page of 50 builds 50
engagements, three related objects each and six prefetched relations of model instances, then
DRF looks up some thirty attributes per record: most of a request's time. Here the page is one
`values()` query plus one read of every relation (one round trip on PostgreSQL), compiled once
per page size, and each value is formatted by the serializer's own field, so the JSON is what
`EngagementSerializer` gives (a test holds them equal). `?expand=` still goes through the serializer.

`?format=csv` is written by PostgreSQL itself (`engagements/exports.py`); elsewhere (SQLite) it
reads the same rows (`export_rows`): the filtered queryset streamed from a server-side cursor and
represented a chunk of `EXPORT_CHUNK` rows at a time, one round trip of relations per chunk: a
million rows in flat memory.
"""

import functools
import itertools
import operator
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from accounts.policy import may_see, reads_people
from cities.models import City
from engagements.models import Engagement, Participant
from utilities.expressions import ByteOrder
from utilities.sqlbulk import id_array_literal

from .serializers import FLAG_COLUMNS, FLAG_ORDERING, flag_item

# Columns formatted by the serializer field of the same name.
SCALARS = (
    "id",
    "title",
    "kind",
    "status",
    "summary",
    "visibility",
    "external_id",
    "start_date",
    "end_date",
    "venue",
    "outcomes",
    "federal_coordination_requested",
    "review_status",
    "created_at",
    "updated_at",
    "version",
)
CITY_COLUMNS = ("id", "name", "subdivision", "country_id")
AGREEMENT_COLUMNS = ("agreement_id", "agreement__title", "agreement__visibility", "agreement__city_id")
COLUMNS = (
    *SCALARS,
    *(f"city__{column}" for column in CITY_COLUMNS),
    *(f"location_city__{column}" for column in CITY_COLUMNS),
    *AGREEMENT_COLUMNS,
)
# Serializer fields whose representation is not the database value itself.
FORMATTED_FIELDS = (serializers.DateField, serializers.DateTimeField, serializers.DecimalField, serializers.FloatField)
DISPLAYS = {
    "kind_display": ("kind", dict(Engagement.Kind.choices)),
    "status_display": ("status", dict(Engagement.Status.choices)),
    "visibility_display": ("visibility", dict(Engagement.visibility.field.choices)),
    "review_status_display": ("review_status", dict(Engagement.ReviewStatus.choices)),
}
# Each to-many field: the related model's column the API shows (`pk`: listed in the related
# model's order; a natural key: in the keys' own).
RELATIONS = {
    "counterpart_cities": "pk",
    "counterpart_organizations": "pk",
    "named_countries": "iso2",
    "counterpart_countries": "iso2",
    "topics": "slug",
}
PARTICIPANT_COLUMNS = ("name", "title", "organization", "side", "contact_id", "contact__name")
# ... and the names the API gives them.
PARTICIPANT_FIELDS = ("name", "title", "organization", "side", "contact", "contact_name")
FLAGS = "compliance_flags"
PUBLIC_RELATED = (*RELATIONS, FLAGS)
RELATED = (*PUBLIC_RELATED, "participants")


def page_rows(queryset):
    """The list's filtered, ordered queryset as rows of `COLUMNS`, ready to paginate."""
    return queryset.prefetch_related(None).values(*COLUMNS)


# Rows per chunk of a CSV export: each chunk is one fetch from the cursor and one read of the
# relations (six statements, the chunk's ids as one array each).
EXPORT_CHUNK = 2000


def export_rows(queryset, serializer, user, *, chunk_size: int | None = None):
    """Every row of the list's filtered, ordered queryset as `represent` gives it (as a list of
    its values in the serializer's field order, the CSV header's), read from a server-side
    cursor `chunk_size` rows at a time. A generator: nothing is read until the response streams
    it. On PostgreSQL the cursor lives in a transaction of its own (a cursor declared in
    autocommit is held: the server would materialise every row before the first).

    Outside any transaction (a request, as served), the next chunk's relations are read on a
    second connection while this chunk is written, so the database and Python work at once;
    inside one (a test's), whose rows another connection would not see, one after the other."""
    chunk_size = chunk_size or EXPORT_CHUNK
    names = RELATED if reads_people(user) else PUBLIC_RELATED
    alias = queryset.db
    overlap = connections[alias].vendor == "postgresql" and not connections[alias].in_atomic_block
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-relations") if overlap else None

    def relations(chunk):
        ids = [row["id"] for row in chunk]
        if pool is None:
            return _Done(_read_related(ids, names, alias))
        return pool.submit(_read_related, ids, names, alias)

    try:
        with transaction.atomic(using=alias):
            rows = page_rows(queryset).iterator(chunk_size=chunk_size)
            chunk = list(itertools.islice(rows, chunk_size))
            pending = relations(chunk) if chunk else None
            while chunk:
                following = list(itertools.islice(rows, chunk_size))
                upcoming = relations(following) if following else None
                readers = _readers(pending.result(), serializer, user)
                # Lists in the serializer's field order (the CSV header's): no dict per row.
                yield from ([read(row) for read in readers] for row in chunk)
                chunk, pending = following, upcoming
    finally:
        if pool is not None:
            # The thread's connection is its own: closed in the thread, not left to the end of it.
            pool.submit(_close_connection, alias)
            pool.shutdown(wait=True)


class _Done:
    """A result at hand, read like a future's."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _close_connection(alias: str) -> None:
    connections[alias].close()


def represent(rows: list[dict], serializer, user) -> list[dict]:
    """The page's records as the serializer would give them; `serializer` is an
    `EngagementSerializer` with the request's context (its fields format the values)."""
    # Participants are people's data: read only for those who may see them.
    related = _read_related([row["id"] for row in rows], RELATED if reads_people(user) else PUBLIC_RELATED)
    readers = list(zip(serializer.fields, _readers(related, serializer, user), strict=True))
    return [{name: read(row) for name, read in readers} for row in rows]


def _readers(related: dict, serializer, user) -> list:
    """A reader of each of the serializer's fields, in its order, given the rows' relations."""
    related.setdefault("participants", {})
    people = related["participants"]
    for record_id, group in people.items():
        people[record_id] = [dict(zip(PARTICIPANT_FIELDS, values, strict=True)) for values in group]
    return [_reader(name, field, user, related) for name, field in serializer.fields.items()]


def _reader(name: str, field, user, related: dict):
    """How to read field `name` of the API from a row."""
    if name in SCALARS:
        if not isinstance(field, FORMATTED_FIELDS):
            # DRF gives text, numbers and booleans as the database returns them.
            return operator.itemgetter(name)
        if _plain_iso_datetime(field):
            return _datetime_reader(name, field)
        represent_value = field.to_representation
        return lambda row: None if row[name] is None else represent_value(row[name])
    if name in DISPLAYS:
        column, labels = DISPLAYS[name]
        texts = {value: str(label) for value, label in labels.items()}
        return lambda row: texts[value] if (value := row[column]) in texts else str(value)
    if name == FLAGS:
        by_record = related[FLAGS]
        return lambda row: [flag_item(values) for values in by_record.get(row["id"], [])]
    if name in related:
        by_record = related[name]
        return lambda row: by_record.get(row["id"], [])
    if name in ("city", "location_city"):
        return operator.itemgetter(f"{name}__id")
    if name in ("city_name", "location_city_name"):
        return _city_label_reader(name.removesuffix("_name"))
    if name in ("agreement", "agreement_title"):
        column = "agreement_id" if name == "agreement" else "agreement__title"
        # A public engagement may belong to an agreement the caller may not see: no trace of it.
        return lambda row: (
            row[column]
            if row["agreement_id"] is not None
            and may_see(user, row["agreement__visibility"], row["agreement__city_id"])
            else None
        )
    raise LookupError(f"The engagement list does not know how to read {name!r}.")


def _plain_iso_datetime(field) -> bool:
    return (
        type(field) is serializers.DateTimeField
        and getattr(field, "format", api_settings.DATETIME_FORMAT) is not None
        and getattr(field, "format", api_settings.DATETIME_FORMAT).lower() == ISO_8601
    )


def _datetime_reader(name: str, field):
    """DRF's `DateTimeField.to_representation` for an ISO 8601 field, with the field's time zone
    read once rather than on every value (two thirds of an export's formatting time)."""
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()

    def read(row):
        value = row[name]
        if not value:
            return None
        if zone is not None and timezone.is_aware(value):
            value = value.astimezone(zone)
        else:
            value = field.enforce_timezone(value)
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read


def _city_label_reader(prefix: str):
    """The label of the row's city `prefix` (`city` or `location_city`), formatted once per city."""
    key, name, subdivision, country = (f"{prefix}__{column}" for column in CITY_COLUMNS)
    labels = {}

    def read(row):
        city_id = row[key]
        if city_id is None:
            return None
        label = labels.get(city_id)
        if label is None:
            label = labels[city_id] = City.format_label(row[name], row[subdivision], row[country])
        return label

    return read


def _read_related(ids: list[int], names, alias: str = DEFAULT_DB_ALIAS) -> dict[str, dict[int, list]]:
    """`{relation: {engagement id: [related key or participant columns, ...]}}` for the page."""
    names = tuple(names)
    if not ids:
        return {name: {} for name in names}
    connection = connections[alias]
    statements = [_related_sql(connection.vendor, name, len(ids)) for name in names]
    with connection.cursor() as cursor:
        if _batches_statements(connection):
            # One round trip for the six reads: each costs the database less than the trip. The
            # ids go as one array each (`= ANY(%s)`): psycopg parses a statement of thousands of
            # placeholders slowly, and PostgreSQL reads `IN (...)` as that array anyway.
            statements = [_related_sql(connection.vendor, name, None) for name in names]
            # The array as its text, written once for the six reads (psycopg dumps a list of
            # ints in Python, once per parameter).
            array = id_array_literal(ids)
            cursor.execute(";\n".join(statements), [array] * len(statements))
            results = [cursor.fetchall()]
            while cursor.nextset():
                results.append(cursor.fetchall())
        else:
            results = []
            for statement in statements:
                cursor.execute(statement, ids)
                results.append(cursor.fetchall())
    related = {}
    for name, rows in zip(names, results, strict=True):
        grouped = related[name] = defaultdict(list)
        for record_id, *values in rows:
            grouped[record_id].append(values[0] if len(values) == 1 else values)
    return related


# The relations' reader, for other exports of engagements (the list page's CSV).
def read_related(ids: list[int], names, alias: str = DEFAULT_DB_ALIAS) -> dict[str, dict[int, list]]:
    return _read_related(ids, names, alias)


def _batches_statements(connection) -> bool:
    """psycopg with client-side binding (Django's default) sends several statements as one."""
    return connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get("server_side_binding")


@functools.lru_cache(maxsize=64)
def _related_sql(vendor: str, name: str, count: int | None) -> str:
    """The SQL reading relation `name` for `count` engagement ids, compiled once per page size:
    building six querysets on every page cost more than running them. `count=None`: the ids as
    one array parameter (PostgreSQL)."""
    placeholder_ids = list(range(1, (count or 1) + 1))
    if name == "participants":
        rows = _participant_rows(placeholder_ids).values_list("engagement_id", *PARTICIPANT_COLUMNS)
    elif name == FLAGS:
        # The flags through their reverse relation: this app does not import the compliance app.
        flags = Engagement._meta.get_field(FLAGS).related_model
        rows = (
            flags.objects.filter(engagement_id__in=placeholder_ids)
            .order_by(*FLAG_ORDERING)
            .values_list("engagement_id", *FLAG_COLUMNS)
        )
    else:
        rows = _relation_rows(name, RELATIONS[name], placeholder_ids)
    sql, params = rows.query.sql_with_params()
    if list(params) != placeholder_ids:
        raise ValueError(f"The {name} query takes parameters besides the engagement ids: {params!r}")
    if count is None:
        if sql.count(" IN (%s)") != 1:
            raise ValueError(f"The {name} query does not read the engagement ids as one IN list: {sql}")
        sql = sql.replace(" IN (%s)", " = ANY(%s::bigint[])")
    return sql


def _relation_rows(name: str, key: str, engagement_ids: list[int]):
    """(engagement id, `key` of the related record) pairs: ids in the related model's order,
    natural keys in their own (as `KeyListField` lists them)."""
    field = Engagement._meta.get_field(name)
    through, target = field.remote_field.through, field.m2m_reverse_field_name()
    rows = through.objects.filter(engagement_id__in=engagement_ids)
    if key == "pk":
        ordering = [_prefixed(target, column) for column in field.related_model._meta.ordering]
        return rows.order_by(*ordering, f"{target}_id").values_list("engagement_id", f"{target}_id")
    # A key that is the related model's primary key is on the through row already: no join.
    column = f"{target}_id" if key == field.related_model._meta.pk.name else f"{target}__{key}"
    return rows.order_by(ByteOrder(F(column))).values_list("engagement_id", column)


def _participant_rows(engagement_ids: list[int]):
    return Participant.objects.filter(engagement_id__in=engagement_ids).order_by(*Participant._meta.ordering)


def _prefixed(relation: str, column: str) -> str:
    descending = column.startswith("-")
    return f"{'-' if descending else ''}{relation}__{column.lstrip('-')}"
