"""Agreement and engagement CSV exports written by PostgreSQL (`COPY (SELECT ...) TO STDOUT`).

The API's `?format=csv` and the list pages' CSV downloads select their rows as they always did:
the policy's `visible_to`, the shared FilterSet and the list's ordering, one queryset. Here that
queryset's SELECT list is replaced by one SQL expression per CSV column that gives the cell the
Python path writes (`utilities.csv.cell` of the serializer's value, or of the page's row): text
through the SQL formula guard, dates and timestamps in ISO 8601, booleans as `true`/`false`,
to-many relations joined with `; ` in the related model's order, natural keys in their own (each aggregated once over all
the exported records, `utilities.csv.Joined`), a linked agreement only when the reader may see it
(the policy's `visible_q`), participants only for those who read people.
The database then writes every row itself, so a million rows stream at the database's speed in
flat memory. Tests hold each file equal to the Python path's for every role and a set of filters.

Each function returns None for a column it does not know: the caller then keeps the Python path.
"""

from django.conf import settings
from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.utils import timezone

from accounts.policy import reads_people, visible_q
from utilities.csv import (
    CopyRows,
    DateTimeCell,
    Guarded,
    Joined,
    bool_cell,
    date_cell,
    label_cell,
    text_cell,
)
from utilities.expressions import ByteOrder

from .models import Agreement, Engagement, Participant

DATES = {"start_date", "end_date", "signed_on", "effective_on", "expires_on", "renewal_due_on", "last_activity_on"}
TIMESTAMPS = {"created_at", "updated_at"}
TEXTS = {
    "title",
    "kind",
    "status",
    "summary",
    "visibility",
    "external_id",
    "venue",
    "outcomes",
    "review_status",
    "authorized_by",
    "url",
}
INTEGERS = {"id", "version"}
BOOLEANS = {"federal_coordination_requested"}
DISPLAYS = {
    "kind_display": "kind",
    "status_display": "status",
    "visibility_display": "visibility",
    "review_status_display": "review_status",
}
# The API's to-many fields: the related model's column it shows (`pk`: the id on the through row).
API_RELATIONS = {
    "counterpart_cities": "pk",
    "counterpart_organizations": "pk",
    "named_countries": "iso2",
    "counterpart_countries": "iso2",
    "topics": "slug",
}
# Keys listed in their own order rather than the related model's.
NATURAL_KEYS = {"iso2", "slug"}
# The list pages' to-many columns: what each shows of the related record.
PAGE_RELATIONS = {
    "counterpart_cities": "label",
    "counterpart_organizations": "name",
    "counterpart_countries": "iso2",
    "topics": "slug",
}


def writes_timestamps_in_sql() -> bool:
    # DateTimeCell writes UTC ("...Z"), which is what DRF writes when the project's zone is UTC.
    return settings.TIME_ZONE == "UTC"


def city_label(prefix: str):
    """`City.format_label` in SQL: `Los Angeles, US-CA`, `Berlin, DE`; NULL without a city."""
    label = Concat(
        F(f"{prefix}__name"),
        Value(", "),
        Coalesce(NullIf(F(f"{prefix}__subdivision"), Value("")), F(f"{prefix}__country_id")),
    )
    return Case(When(Q(**{f"{prefix}_id__isnull": False}), then=label), default=None)


def _relation(model, name: str, key: str) -> Joined:
    """Relation `name` of the record: `key` of each related record, in the related model's
    order (then by id, as the list's fast path orders them); natural keys in their own byte order,
    as the API and the pages list them (`utilities.serializers.KeyListField`)."""
    field = model._meta.get_field(name)
    through, target = field.remote_field.through, field.m2m_reverse_field_name()
    related = field.related_model
    if key in NATURAL_KEYS:
        order_by = [ByteOrder(F(f"{target}__{key}")).asc()]
    else:
        ordering = [_prefixed(target, column) for column in related._meta.ordering] + [f"{target}_id"]
        order_by = [F(column[1:]).desc() if column.startswith("-") else F(column).asc() for column in ordering]
    if key == "pk":
        value = text_cell(F(f"{target}_id"))
    elif key == "label":
        value = Concat(
            F(f"{target}__name"),
            Value(", "),
            Coalesce(NullIf(F(f"{target}__subdivision"), Value("")), F(f"{target}__country_id")),
        )
    else:
        value = text_cell(F(f"{target}__{key}"))
    return Joined(through.objects.all(), f"{field.m2m_field_name()}_id", value, order_by)


def _prefixed(relation: str, column: str) -> str:
    descending = column.startswith("-")
    return f"{'-' if descending else ''}{relation}__{column.lstrip('-')}"


def _flags(model) -> Joined:
    """The record's compliance flags as the CSV shows them (their ids), in the API's order."""
    flags = model._meta.get_field("compliance_flags").related_model
    link = "agreement_id" if model is Agreement else "engagement_id"
    return Joined(flags.objects.all(), link, text_cell(F("id")), [F("rule__code").asc(), F("id").asc()])


def _participants(user):
    """Participants by name (the CSV's text of each), for readers of people's data only."""
    if not reads_people(user):
        return Value(None, output_field=TextField())
    name = Coalesce(NullIf(F("name"), Value("")), NullIf(F("title"), Value("")), Value(""))
    return Joined(Participant.objects.all(), "engagement_id", name, [F("side").asc(), F("id").asc()])


def _visible_agreement(user, value):
    """`value` (of the engagement's agreement) when the reader may see that agreement, else NULL."""
    condition = Q(agreement_id__isnull=False) & visible_q(user, prefix="agreement__")
    return Case(When(condition, then=value), default=None)


def _api_cell(model, name: str, user):
    """The SQL of API field `name`'s CSV cell, or None when it has none here."""
    if name in INTEGERS:
        return F(name)
    if name in TEXTS:
        return Guarded(F(name))
    if name in DATES:
        return date_cell(F(name))
    if name in TIMESTAMPS:
        return DateTimeCell(F(name)) if writes_timestamps_in_sql() else None
    if name in BOOLEANS:
        return bool_cell(name)
    if name in DISPLAYS:
        column = DISPLAYS[name]
        return Guarded(label_cell(column, dict(model._meta.get_field(column).choices)))
    if name in API_RELATIONS:
        return _relation(model, name, API_RELATIONS[name])
    if name == "compliance_flags":
        return _flags(model)
    if name in ("city", "location_city"):
        return F(f"{name}_id")
    if name in ("city_name", "location_city_name"):
        return Guarded(city_label(name.removesuffix("_name")))
    if model is Engagement and name == "agreement":
        return _visible_agreement(user, F("agreement_id"))
    if model is Engagement and name == "agreement_title":
        return Guarded(_visible_agreement(user, F("agreement__title")))
    if model is Engagement and name == "participants":
        return _participants(user)
    if model is Agreement and name == "lapsed":
        today = timezone.localdate()
        lapsed = Q(status__in=Agreement.LAPSING_STATUSES, expires_on__isnull=False, expires_on__lt=today)
        return Case(When(lapsed, then=Value("true")), default=Value("false"))
    return None


def api_rows(queryset, header, user):
    """The API list's filtered, ordered `queryset` as the CSV's rows, one column per serializer
    field in `header`; None if a field has no SQL here."""
    cells = [_api_cell(queryset.model, name, user) for name in header]
    if any(cell is None for cell in cells):
        return None
    return _rows(queryset, cells)


def _page_cell(model, name: str):
    if name in INTEGERS:
        return F(name)
    if name in TEXTS:
        return Guarded(F(name))
    if name in DATES:
        return date_cell(F(name))
    if name in BOOLEANS:
        return bool_cell(name)
    if name in PAGE_RELATIONS:
        return _relation(model, name, PAGE_RELATIONS[name])
    if name in ("city", "location_city"):
        return Guarded(city_label(name))
    return None


def page_rows(queryset, header):
    """A list page's filtered, ordered `queryset` as the rows of its CSV (`header`: the page's
    columns); None if a column has no SQL here."""
    cells = [_page_cell(queryset.model, name) for name in header]
    if any(cell is None for cell in cells):
        return None
    return _rows(queryset, cells)


def _rows(queryset, cells) -> CopyRows:
    return CopyRows(queryset, cells)
