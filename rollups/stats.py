"""`engagements.stats` answered from the trigger-kept tallies (`tallies.py`), plugged in when the
app is ready (`apps.py`): the same rows `count_engagements` would count, read from a few hundred
tally rows whenever the queryset selects only by what the tallies have dimensions for."""

from dataclasses import replace

from django.db.models import QuerySet

from engagements.models import Engagement
from engagements.stats import city_rows, month_row, state_rows

from .tallies import Pending, Scope, fetch


def count_from_tallies(queryset: QuerySet, group_by: str) -> list[dict] | None:
    """`engagements.stats.count_engagements` read from the tallies, or None when they cannot answer."""
    scope = Scope.of(queryset)
    pending = tally_query(scope, group_by) if scope is not None else None
    return fetch(pending)[0] if pending is not None else None


def tally_query(scope: Scope, group_by: str) -> Pending | None:
    """`count_engagements`'s answer as a read of the tallies, to run alone or with others
    (`rollups.tallies.fetch`); None when they cannot answer."""
    if group_by in ("city", "state"):
        pending = scope.per_city()
        shape = city_rows if group_by == "city" else state_rows
    elif group_by in ("topic", "country"):
        pending = scope.labelled(group_by)

        def shape(rows):
            return [
                {"key": key, "label": label, "count": count}
                for key, label, count in sorted(rows, key=lambda row: (-row[2], row[0]))
            ]

    elif group_by == "month":
        pending = scope.counts(group_by)

        def shape(counts):
            return [month_row(key, counts[key]) for key in sorted(counts)]

    else:
        pending = scope.counts(group_by)
        labels = dict(Engagement.Kind.choices)

        def shape(counts):
            return [
                {"key": kind, "label": labels.get(kind, kind), "count": count}
                for kind, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            ]

    if pending is None:
        return None
    return replace(pending, finish=lambda rows: shape(pending.finish(rows)))
