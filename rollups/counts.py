"""Exact engagement counts read from the rollup instead of counted row by row.

`engagement_count` answers for a caller and the filters the rollup has dimensions for (owning
city, its state, visibility); anything else is `None`, and the caller counts rows as before.
"""

from django.db import connection
from django.db.models import Sum

from accounts.policy import visible_q

from .models import EngagementCount

# List parameters that never change which rows there are.
PRESENTATION_PARAMS = frozenset({"page", "page_size", "ordering", "expand", "format"})
# Filters the rollup has a dimension for, and the lookup each becomes on it.
ROLLUP_FILTERS = {"city": "city_id", "state": "city__subdivision", "visibility": "visibility"}


def rollup_available() -> bool:
    """The triggers that keep the rollup exact exist on PostgreSQL only."""
    return connection.vendor == "postgresql"


def engagement_count(user, params) -> int | None:
    """How many engagements `user` sees with the list filters in `params` (a QueryDict already
    validated by the engagement FilterSet), or None when the rollup cannot tell."""
    if not rollup_available():
        return None
    lookups = {}
    for name in params:
        values = [value for value in params.getlist(name) if value != ""]
        if name in PRESENTATION_PARAMS or not values:
            continue
        if name not in ROLLUP_FILTERS or len(values) != 1:
            return None
        value = values[0].upper() if name == "state" else values[0]
        lookups[ROLLUP_FILTERS[name]] = value
    rows = EngagementCount.objects.filter(visible_q(user), **lookups)
    return rows.aggregate(total=Sum("count"))["total"] or 0
