"""Engagement counts by one dimension, counted by the database. The stats API and the dashboards
call the same function with the same (already visibility-scoped and filtered) queryset, so their
numbers agree."""

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from .models import Engagement

GROUP_BY_CHOICES = ("month", "topic", "kind", "country", "city", "state")


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
    # Filters may annotate or order the queryset; grouping needs neither.
    ids = queryset.order_by().values("pk")

    if group_by == "month":
        rows = (
            Engagement.objects.filter(pk__in=ids)
            .annotate(month=TruncMonth("start_date"))
            .values("month")
            .annotate(count=Count("*"))
            .order_by("month")
        )
        return [
            {"key": row["month"].strftime("%Y-%m"), "label": row["month"].strftime("%B %Y"), "count": row["count"]}
            for row in rows
        ]

    if group_by == "topic":
        through = Engagement.topics.through
        rows = through.objects.filter(engagement_id__in=ids).values("topic__slug", "topic__name")
        return _ranked(rows.annotate(count=Count("*")), "topic__slug", "topic__name")

    if group_by == "country":
        through = Engagement.counterpart_countries.through
        rows = through.objects.filter(engagement_id__in=ids).values("country_id", "country__name")
        return _ranked(rows.annotate(count=Count("*")), "country_id", "country__name")

    if group_by == "kind":
        labels = dict(Engagement.Kind.choices)
        rows = Engagement.objects.filter(pk__in=ids).values("kind").annotate(count=Count("*"))
        return [
            {"key": row["kind"], "label": labels.get(row["kind"], row["kind"]), "count": row["count"]}
            for row in sorted(rows, key=lambda row: (-row["count"], row["kind"]))
        ]

    if group_by == "city":
        rows = (
            Engagement.objects.filter(pk__in=ids)
            .values("city_id", "city__name", "city__subdivision", "city__country_id")
            .annotate(count=Count("*"))
        )
        return [
            {
                "key": row["city_id"],
                "label": f"{row['city__name']}, {row['city__subdivision'] or row['city__country_id']}",
                "count": row["count"],
            }
            for row in sorted(rows, key=lambda row: (-row["count"], row["city__name"]))
        ]

    rows = Engagement.objects.filter(pk__in=ids).values("city__subdivision").annotate(count=Count("*"))
    return [
        {"key": row["city__subdivision"] or None, "label": row["city__subdivision"] or "(none)", "count": row["count"]}
        for row in sorted(rows, key=lambda row: (-row["count"], row["city__subdivision"] or ""))
    ]


def _ranked(rows, key_field: str, label_field: str) -> list[dict]:
    return [
        {"key": row[key_field], "label": row[label_field], "count": row["count"]}
        for row in sorted(rows, key=lambda row: (-row["count"], row[key_field]))
    ]
