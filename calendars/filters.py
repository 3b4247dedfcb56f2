"""What a feed URL's query narrows it to: `?city=<slug>` and `?state=US-XX` (each repeatable, any
of them; the two together: both), `?kinds=engagements,anniversaries,...` (repeatable or comma
separated). A city feed and a portfolio feed are the personal feed with these filters (SPEC §8.4).
A value that does not parse is an error the feed answers with a 400 naming it, never ignored."""

import dataclasses
import re

from django.http import QueryDict

from accounts.services import US_STATES
from cities.models import City

# The events a feed can hold, in the order a person reads them.
KINDS = {
    "engagements": "Engagements",
    "anniversaries": "Agreement anniversaries",
    "expiries": "Agreement expiries",
    "renewals": "Agreement renewals due",
    "follow-ups": "Follow-ups due",
    "compliance": "Compliance deadlines",
}
CITY_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,220}")
STATE = re.compile(r"[A-Za-z]{2}-[A-Za-z]{2}")
# More than this many values of one parameter is not a calendar anyone reads.
MAX_VALUES = 50


class FeedFilterError(ValueError):
    """A query parameter the feed cannot read; its message names the parameter."""


@dataclasses.dataclass(frozen=True)
class FeedFilters:
    city_ids: frozenset[int] = frozenset()
    states: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset(KINDS)

    def wants(self, kind: str) -> bool:
        return kind in self.kinds


def _values(query: QueryDict, name: str, *, split_commas: bool = False) -> list[str]:
    values = []
    for raw in query.getlist(name):
        parts = raw.split(",") if split_commas else [raw]
        values += [part.strip() for part in parts if part.strip()]
    if len(values) > MAX_VALUES:
        raise FeedFilterError(f"{name}: give at most {MAX_VALUES} values.")
    return values


def parse_filters(query: QueryDict) -> FeedFilters:
    """The filters of a feed URL's query. Cities are looked up by slug in one query (none when
    the URL names no city); every other check is made before any query."""
    slugs = _values(query, "city")
    bad = [slug for slug in slugs if not CITY_SLUG.fullmatch(slug)]
    if bad:
        raise FeedFilterError(f"city: “{bad[0][:80]}” is not a city slug (e.g. los-angeles-us-ca-5368361).")
    states = [state.upper() for state in _values(query, "state")]
    bad = [
        state for state in states if not (STATE.fullmatch(state) and state.startswith("US-") and state[3:] in US_STATES)
    ]
    if bad:
        raise FeedFilterError(f"state: “{bad[0][:20]}” is not a US state (write e.g. US-CA).")
    kinds = [kind.lower() for kind in _values(query, "kinds", split_commas=True)]
    bad = [kind for kind in kinds if kind not in KINDS]
    if bad:
        raise FeedFilterError(f"kinds: “{bad[0][:40]}” is not one of {', '.join(KINDS)}.")
    city_ids = frozenset()
    if slugs:
        found = dict(City.objects.filter(slug__in=set(slugs)).values_list("slug", "id"))
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise FeedFilterError(f"city: no city has the slug “{missing[0]}”.")
        city_ids = frozenset(found.values())
    return FeedFilters(city_ids=city_ids, states=frozenset(states), kinds=frozenset(kinds) or frozenset(KINDS))
