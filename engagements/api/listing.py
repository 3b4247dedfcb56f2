"""The engagement list's pages, read as plain rows rather than through model instances.

Partners page through millions of engagements. Through the serializer, a page of 50 builds 50
engagements, three related objects each and six prefetched relations of model instances, then
DRF looks up some thirty attributes per record: most of a request's time. Here the page is one
`values()` query plus one read of every relation (one round trip on PostgreSQL), compiled once
per page size, and each value is formatted by the serializer's own field, so the JSON is what
`EngagementSerializer` gives (a test holds them equal). `?expand=` and CSV still go through the serializer.
"""

import functools
from collections import defaultdict

from django.db import connection
from rest_framework import serializers

from accounts.policy import may_see, reads_people
from cities.models import City
from engagements.models import Engagement, Participant

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
# Each to-many field: the related model's column the API shows, in the related model's order.
RELATIONS = {
    "counterpart_cities": "pk",
    "counterpart_organizations": "pk",
    "named_countries": "iso2",
    "counterpart_countries": "iso2",
    "topics": "slug",
}
PARTICIPANT_COLUMNS = ("name", "title", "organization", "side")
RELATED = (*RELATIONS, "participants")


def page_rows(queryset):
    """The list's filtered, ordered queryset as rows of `COLUMNS`, ready to paginate."""
    return queryset.prefetch_related(None).values(*COLUMNS)


def represent(rows: list[dict], serializer, user) -> list[dict]:
    """The page's records as the serializer would give them; `serializer` is an
    `EngagementSerializer` with the request's context (its fields format the values)."""
    # Participants are people's data: read only for those who may see them.
    related = _read_related([row["id"] for row in rows], RELATED if reads_people(user) else RELATIONS)
    related.setdefault("participants", {})
    people = related["participants"]
    for record_id, group in people.items():
        people[record_id] = [dict(zip(PARTICIPANT_COLUMNS, values, strict=True)) for values in group]
    readers = [(name, _reader(name, field, user, related)) for name, field in serializer.fields.items()]
    return [{name: read(row) for name, read in readers} for row in rows]


def _reader(name: str, field, user, related: dict):
    """How to read field `name` of the API from a row."""
    if name in SCALARS:
        if not isinstance(field, FORMATTED_FIELDS):
            # DRF gives text, numbers and booleans as the database returns them.
            return lambda row: row[name]
        represent_value = field.to_representation
        return lambda row: None if row[name] is None else represent_value(row[name])
    if name in DISPLAYS:
        column, labels = DISPLAYS[name]
        return lambda row: str(labels.get(row[column], row[column]))
    if name in related:
        by_record = related[name]
        return lambda row: by_record.get(row["id"], [])
    if name in ("city", "location_city"):
        return lambda row: row[f"{name}__id"]
    if name in ("city_name", "location_city_name"):
        prefix = name.removesuffix("_name")
        return lambda row: _city_label(row, prefix)
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


def _city_label(row: dict, prefix: str) -> str | None:
    if row[f"{prefix}__id"] is None:
        return None
    return City.format_label(row[f"{prefix}__name"], row[f"{prefix}__subdivision"], row[f"{prefix}__country_id"])


def _read_related(ids: list[int], names) -> dict[str, dict[int, list]]:
    """`{relation: {engagement id: [related key or participant columns, ...]}}` for the page."""
    names = tuple(names)
    if not ids:
        return {name: {} for name in names}
    statements = [_related_sql(connection.vendor, name, len(ids)) for name in names]
    with connection.cursor() as cursor:
        if _batches_statements():
            # One round trip for the six reads: each costs the database less than the trip.
            cursor.execute(";\n".join(statements), ids * len(statements))
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


def _batches_statements() -> bool:
    """psycopg with client-side binding (Django's default) sends several statements as one."""
    return connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get("server_side_binding")


@functools.lru_cache(maxsize=64)
def _related_sql(vendor: str, name: str, count: int) -> str:
    """The SQL reading relation `name` for `count` engagement ids, compiled once per page size:
    building six querysets on every page cost more than running them."""
    placeholder_ids = list(range(1, count + 1))
    if name == "participants":
        rows = _participant_rows(placeholder_ids).values_list("engagement_id", *PARTICIPANT_COLUMNS)
    else:
        rows = _relation_rows(name, RELATIONS[name], placeholder_ids)
    sql, params = rows.query.sql_with_params()
    if list(params) != placeholder_ids:
        raise ValueError(f"The {name} query takes parameters besides the engagement ids: {params!r}")
    return sql


def _relation_rows(name: str, key: str, engagement_ids: list[int]):
    """(engagement id, `key` of the related record) pairs, in the related model's order."""
    field = Engagement._meta.get_field(name)
    through, target = field.remote_field.through, field.m2m_reverse_field_name()
    ordering = [_prefixed(target, column) for column in field.related_model._meta.ordering]
    # The related model's primary key is on the through row already: no join to read it.
    column = f"{target}_id" if key in ("pk", field.related_model._meta.pk.name) else f"{target}__{key}"
    rows = through.objects.filter(engagement_id__in=engagement_ids)
    return rows.order_by(*ordering, f"{target}_id").values_list("engagement_id", column)


def _participant_rows(engagement_ids: list[int]):
    return Participant.objects.filter(engagement_id__in=engagement_ids).order_by(*Participant._meta.ordering)


def _prefixed(relation: str, column: str) -> str:
    descending = column.startswith("-")
    return f"{'-' if descending else ''}{relation}__{column.lstrip('-')}"
