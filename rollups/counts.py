"""Exact engagement counts read from the rollups instead of counted row by row.

`engagement_count` answers for a caller and the filters the rollups have dimensions for: owning
city, its state and visibility (from `EngagementCount`), and besides them one of kind, review
status or month-aligned start dates (from the tallies, `rollups.tallies`), or one topic and one
counterpart country together (from `EngagementPairTally`). Anything else is `None`, and the
caller counts rows as before.
"""

import datetime as dt

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q

from accounts.policy import visible_q
from engagements.models import Engagement
from utilities.prepared import fetch_prepared

from .models import EngagementCount, EngagementPairTally
from .tallies import Scope, fetch

# Statements kept by `_sum_of_counts`: one per rollup, reader's filter and lookups.
SUM_STATEMENTS_KEPT = 1024
# List parameters that never change which rows there are.
PRESENTATION_PARAMS = frozenset({"page", "page_size", "ordering", "expand", "format"})
# Filters the rollup has a dimension for, and the lookup each becomes on it.
ROLLUP_FILTERS = {"city": "city_id", "state": "city__subdivision", "visibility": "visibility"}
# The filters a pair tally answers together (one value each), and its column for each.
PAIR_FILTERS = {"topic": "topic", "counterpart_country": "country"}
# Filters a tally dimension keys: (lookup on the engagements, the dimension whose keys sum to the total).
TALLY_FILTERS = {
    "kind": ("kind__in", "kind"),
    "review_status": ("review_status__in", "review_status"),
    "start_after": ("start_date__gte", "month"),
    "start_before": ("start_date__lte", "month"),
}


def rollup_available() -> bool:
    """The triggers that keep the rollup exact exist on PostgreSQL only."""
    return connection.vendor == "postgresql"


def engagement_count(user, params) -> int | None:
    """How many engagements `user` sees with the list filters in `params` (a QueryDict already
    validated by the engagement FilterSet), or None when the rollups cannot tell."""
    if not rollup_available():
        return None
    lookups, keyed, dimensions, paired = {}, {}, set(), {}
    for name in params:
        values = [value for value in params.getlist(name) if value != ""]
        if name in PRESENTATION_PARAMS or not values:
            continue
        if name in ROLLUP_FILTERS and len(values) == 1:
            lookups[ROLLUP_FILTERS[name]] = values[0].upper() if name == "state" else values[0]
        elif name in TALLY_FILTERS and (name in ("kind", "review_status") or len(values) == 1):
            lookup, dimension = TALLY_FILTERS[name]
            keyed[lookup] = values if lookup.endswith("__in") else _date(values[0])
            dimensions.add(dimension)
        elif name in PAIR_FILTERS and len(values) == 1:
            paired[PAIR_FILTERS[name]] = values[0].upper() if name == "counterpart_country" else values[0]
        else:
            return None
    if paired:
        # One topic and one counterpart country, besides city, state or visibility at most.
        if keyed or len(paired) != len(PAIR_FILTERS):
            return None
        return _sum_of_counts(EngagementPairTally, visible_q(user), {**lookups, **paired})
    if not keyed:
        return _sum_of_counts(EngagementCount, visible_q(user), lookups)
    if len(dimensions) != 1 or None in keyed.values():
        return None
    scope = Scope.of(Engagement.objects.filter(visible_q(user), **lookups, **keyed))
    pending = scope.counts(dimensions.pop()) if scope is not None else None
    return sum(fetch(pending)[0].values()) if pending is not None else None


# (rollup model, the filter and lookups as text) -> the statement summing their counts.
_sums: dict[tuple, tuple[str, tuple]] = {}


def _sum_of_counts(model, visible: Q, lookups: dict) -> int:
    """The sum of `model`'s counts over the rows `visible` and `lookups` keep."""
    ((total,),) = fetch_prepared(connection, *_sum_statement(model, visible, lookups))
    return total


def engagement_count_statement(user, params) -> tuple[str, tuple] | None:
    """The statement `engagement_count` runs for `user` when `params` hold no filter, for a
    caller that runs it inside a statement of its own: its SQL (Django's placeholders) and
    parameters; None otherwise."""
    if not rollup_available() or not PRESENTATION_PARAMS.issuperset(params):
        return None
    return _sum_statement(EngagementCount, visible_q(user), {})


def _sum_statement(model, visible: Q, lookups: dict) -> tuple[str, tuple]:
    """The statement summing `model`'s counts over the rows `visible` and `lookups` keep. Django's
    ORM takes 0.2-0.6 ms of Python to build and compile this query, several times what the
    database takes to answer it, and the first page of every API list asks it; so each statement
    is built once, keyed by the filter's full text (its values included: `visible_q` holds only
    plain values), then only run, prepared."""
    key = (model, repr(visible), repr(sorted(lookups.items())))
    statement = _sums.get(key)
    if statement is None:
        if len(_sums) >= SUM_STATEMENTS_KEPT:
            _sums.clear()
        rows = model.objects.filter(visible, **lookups).values_list("count")
        try:
            sql, params = rows.query.sql_with_params()
        except EmptyResultSet:
            # A filter no row can pass (an empty list of cities).
            statement = _sums[key] = ("SELECT 0::bigint", ())
        else:
            statement = _sums[key] = (f"SELECT coalesce(sum(rows.count), 0)::bigint FROM ({sql}) AS rows", params)  # noqa: S608
    return statement


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None
