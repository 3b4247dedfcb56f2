"""Engagement counts by one dimension, and list totals. The stats API and the dashboards call the
same function with the same (already visibility-scoped and filtered) queryset, so their numbers
agree.

Here the database counts rows. A faster source of the same answers may be plugged in with
`use_fast_counts`: `rollups` plugs in its trigger-kept tallies when its app is ready (engagements
cannot import rollups, which reads engagements). On PostgreSQL they answer whenever the queryset
selects only by what they have dimensions for (visibility policy, city, state, visibility, and
kind, review status or month-aligned dates for their own dimension): a few hundred rows summed
instead of a million counted. Otherwise, and on SQLite, rows are counted; the answers are the same.
"""

from collections.abc import Callable

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from utilities.dates import month_key, month_label, month_start

from .models import Engagement

GROUP_BY_CHOICES = ("month", "topic", "kind", "country", "city", "state")

# The faster source, if one is plugged in: each answers None when it cannot tell.
_fast_counts: Callable[[QuerySet, str], list[dict] | None] | None = None
_fast_total: Callable[..., int | None] | None = None
_fast_total_statement: Callable[..., tuple[str, tuple] | None] | None = None


def use_fast_counts(
    *,
    counts: Callable[[QuerySet, str], list[dict] | None],
    total: Callable[..., int | None],
    total_statement: Callable[..., tuple[str, tuple] | None],
) -> None:
    """Answer `count_engagements` with `counts(queryset, group_by)` and `engagement_total` with
    `total(user, params)` whenever they can (not None); `total_statement(user, params)` gives the
    statement `total` runs, where it is one (for no filter)."""
    global _fast_counts, _fast_total, _fast_total_statement
    _fast_counts, _fast_total, _fast_total_statement = counts, total, total_statement


def engagement_total(user, params) -> int | None:
    """How many engagements `user` sees with the list filters in `params` (a QueryDict already
    validated by the engagement FilterSet), when the faster source can tell without counting rows;
    None otherwise, and the caller counts rows."""
    return _fast_total(user, params) if _fast_total is not None else None


def engagement_total_statement(user, params) -> tuple[str, tuple] | None:
    """The statement (SQL with Django's placeholders, parameters) whose one value is
    `engagement_total(user, params)`, when the faster source has one (for no filter)."""
    return _fast_total_statement(user, params) if _fast_total_statement is not None else None


def count_engagements(queryset: QuerySet, group_by: str) -> list[dict]:
    """`[{"key": ..., "count": n}]` for `group_by` in GROUP_BY_CHOICES; every row also has a
    readable `label`.

    - month: `"2026-03"` (by start date), in calendar order;
    - topic: topic slug; country: counterpart country iso2 (an engagement with two topics or two
      counterpart countries counts once under each, one with none is not counted);
    - kind: the kind's value; city: the owning city's id; state: its ISO 3166-2 subdivision.
    Other dimensions are ordered by count, largest first. Raises ValueError for anything else.
    """
    if group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY_CHOICES)}, not {group_by!r}")
    fast = _fast_counts(queryset, group_by) if _fast_counts is not None else None
    if fast is not None:
        return fast
    engagements = _groupable(queryset)

    if group_by == "month":
        rows = (
            engagements.annotate(month=TruncMonth("start_date"))
            .values("month")
            .annotate(count=Count("*"))
            .order_by("month")
        )
        return [
            {"key": month_key(row["month"]), "label": month_label(row["month"]), "count": row["count"]} for row in rows
        ]

    if group_by == "topic":
        through = Engagement.topics.through
        rows = _related_rows(through, queryset).values("topic__slug", "topic__name")
        return _ranked(rows.annotate(count=Count("*")), "topic__slug", "topic__name")

    if group_by == "country":
        through = Engagement.counterpart_countries.through
        rows = _related_rows(through, queryset).values("country_id", "country__name")
        return _ranked(rows.annotate(count=Count("*")), "country_id", "country__name")

    if group_by == "kind":
        labels = dict(Engagement.Kind.choices)
        rows = engagements.values("kind").annotate(count=Count("*"))
        return [
            {"key": row["kind"], "label": labels.get(row["kind"], row["kind"]), "count": row["count"]}
            for row in sorted(rows, key=lambda row: (-row["count"], row["kind"]))
        ]

    if group_by == "city":
        rows = engagements.values("city_id", "city__name", "city__subdivision", "city__country_id").annotate(
            count=Count("*")
        )
        return city_rows(rows)

    return state_rows(engagements.values("city__subdivision").annotate(count=Count("*")))


def city_rows(rows) -> list[dict]:
    """Rows with city id, name, subdivision, country and count as the `city` dimension."""
    return [
        {
            "key": row["city_id"],
            "label": f"{row['city__name']}, {row['city__subdivision'] or row['city__country_id']}",
            "count": row["count"],
        }
        for row in sorted(rows, key=lambda row: (-row["count"], row["city__name"]))
    ]


def state_rows(rows) -> list[dict]:
    """Rows with a subdivision and a count (several per subdivision add up) as `state`."""
    counts = {}
    for row in rows:
        counts[row["city__subdivision"] or ""] = counts.get(row["city__subdivision"] or "", 0) + row["count"]
    return [
        {"key": state or None, "label": state or "(none)", "count": count}
        for state, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def month_row(key: str, count: int) -> dict:
    month = month_start(key)
    return {"key": month_key(month), "label": month_label(month), "count": count}


def _groupable(queryset: QuerySet) -> QuerySet:
    """The engagements of `queryset`, ready to group. Filters may order, annotate or join it;
    grouping needs none of that, and a join could repeat a row. A plain filtered queryset is
    grouped as it is (PostgreSQL can then answer from an index alone); wrapping it in
    `pk IN (...)` joins the table to itself, 4x slower at 100k rows."""
    plain = queryset.order_by()
    if plain.query.annotations or plain.query.distinct or len(plain.query.alias_map) > 1:
        return Engagement.objects.filter(pk__in=plain.values("pk"))
    return plain


def _related_rows(through, queryset: QuerySet) -> QuerySet:
    """The rows of a many-to-many table that belong to the engagements of `queryset`: all of them
    when it filters nothing (a caller who sees everything, no filters)."""
    plain = queryset.order_by()
    if not plain.query.where and not plain.query.annotations:
        return through.objects.all()
    return through.objects.filter(engagement_id__in=plain.values("pk"))


def _ranked(rows, key_field: str, label_field: str) -> list[dict]:
    return [
        {"key": row[key_field], "label": row[label_field], "count": row["count"]}
        for row in sorted(rows, key=lambda row: (-row["count"], row[key_field]))
    ]
