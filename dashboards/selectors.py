"""The read side of the dashboards: every number is counted by the database, over the records the
viewer may see (`visible_to`) narrowed by the shared FilterSets, with the same `count_engagements`
the stats API uses, so a page and the API never disagree.

Each function costs a fixed number of queries, whatever the number of records. On PostgreSQL
the engagement numbers of a dashboard come from the trigger-kept tallies (`rollups.tallies`) in
one query when its filters allow, so they cost the same at ten thousand records as at a million.
"""

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pycountry
from django.db import connections
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, Value, When
from django.db.models.functions import ExtractYear
from django.http import QueryDict
from django.utils import timezone

from accounts.policy import portfolio_q, reviews_engagements
from cities.models import Country, Network, NetworkMembership, WatchedCountry
from engagements.filter_arrays import COUNTRY_CODES, ArrayMatch, arrays_available
from engagements.filters import AgreementFilterSet, EngagementFilterSet
from engagements.models import Agreement, Engagement, Review
from engagements.stats import city_rows, count_engagements, state_rows
from rollups.stats import tally_query
from rollups.tallies import Scope, fetch
from utilities.dates import month_label, month_start

from .charts import month_keys

# Engagement filters that mean the same for agreements.
SHARED_FILTERS = ("city", "state", "topic", "counterpart_country", "counterpart_city", "visibility", "q")
MONTHS_SHOWN = 24
MAX_MONTHS_SHOWN = 120
EXPIRY_HORIZON_DAYS = 90
EXPIRING_SHOWN = 50
MOST_ACTIVE_CITIES = 15
LIVE_AGREEMENT_STATUSES = (Agreement.Status.SIGNED, Agreement.Status.ACTIVE)
US_STATES = {subdivision.code: subdivision.name for subdivision in pycountry.subdivisions.get(country_code="US")}


def state_label(code: str | None) -> str:
    if not code:
        return "(no state)"
    name = US_STATES.get(code)
    return f"{name} ({code})" if name else code


def add_months(date: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `date`'s, kept within Python's calendar (a
    stored date near year 1 or 9999 still renders)."""
    index = min(max(date.year * 12 + date.month - 1 + months, 12), 9999 * 12 + 11)
    return dt.date(index // 12, index % 12 + 1, 1)


def active_membership_q(today: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": today})


def agreement_params(params: QueryDict) -> QueryDict:
    """The engagement filters that apply to agreements too (state, topic, ...)."""
    shared = QueryDict(mutable=True)
    for name in SHARED_FILTERS:
        if name in params:
            shared.setlist(name, params.getlist(name))
    return shared


class Dashboard:
    """The national dashboard (and the public portal's numbers) for one viewer and one set of
    filters, given as the API's query parameters."""

    def __init__(self, user, params: QueryDict, *, today: dt.date | None = None):
        self.user = user
        self.today = today or timezone.localdate()
        self.filterset = EngagementFilterSet(data=params, queryset=Engagement.objects.visible_to(user), user=user)
        self.agreement_filterset = AgreementFilterSet(
            data=agreement_params(params), queryset=Agreement.objects.visible_to(user), user=user
        )

    @cached_property
    def engagements(self):
        return self.filterset.qs

    @cached_property
    def agreements(self):
        return self.agreement_filterset.qs

    @cached_property
    def awaiting_q(self) -> Q:
        awaiting = Q(review_status=Engagement.ReviewStatus.UNREVIEWED)
        if reviews_engagements(self.user):
            # A liaison's queue is their portfolio; everyone else sees the national number.
            awaiting &= portfolio_q(self.user)
        return awaiting

    @cached_property
    def tallied(self) -> dict:
        """Every number the tallies can give for these filters, read in one query: the charts
        (by name), `per_city` (the city and state charts), `active` (cities active this year)
        and `awaiting` (review statuses awaiting review). What they cannot give is absent, and
        is counted row by row."""
        scope = Scope.of(self.engagements)
        if scope is None:
            return {}
        pending = {chart: tally_query(scope, chart) for chart in ("month", "topic", "kind", "country")}
        pending["per_city"] = scope.per_city()
        pending["region"] = scope.counts("region")
        pending["active"] = scope.active_cities(self.today.year)
        awaiting = Scope.of(self.engagements.filter(self.awaiting_q))
        pending["awaiting"] = awaiting.counts("review_status") if awaiting else None
        ready = {name: read for name, read in pending.items() if read is not None}
        return dict(zip(ready, fetch(*ready.values()), strict=True))

    @cached_property
    def months(self) -> list[dict]:
        """Engagements per month (the month chart's and the yearly headline numbers' source)."""
        if "month" in self.tallied:
            return self.tallied["month"]
        return count_engagements(self.engagements, "month")

    @property
    def errors(self) -> dict:
        """Filters that did not parse; the page says so and counts without them."""
        return dict(self.filterset.errors)

    @property
    def cleaned(self) -> dict:
        self.filterset.is_valid()
        return self.filterset.form.cleaned_data

    def headline(self) -> dict:
        """The headline counts: engagements this year and last year (from the month chart's
        counts), cities active this year and awaiting review (from the tallies, else 1 query
        counting rows), live agreements and active memberships (1 query each)."""
        year = self.today.year
        per_year = {}
        for row in self.months:
            per_year[int(row["key"][:4])] = per_year.get(int(row["key"][:4]), 0) + row["count"]
        numbers = {"engagements_this_year": per_year.get(year, 0), "engagements_last_year": per_year.get(year - 1, 0)}
        active, unreviewed = self.tallied.get("active"), self.tallied.get("awaiting")
        if active is None or unreviewed is None:
            this_year = Q(start_date__gte=dt.date(year, 1, 1), start_date__lte=dt.date(year, 12, 31))
            counted = self.engagements.aggregate(
                cities_active_this_year=Count("city", distinct=True, filter=this_year),
                awaiting_review=Count("pk", filter=self.awaiting_q),
            )
            active, unreviewed = counted["cities_active_this_year"], {"unreviewed": counted["awaiting_review"]}
        numbers["cities_active_this_year"] = active
        numbers["awaiting_review"] = sum(unreviewed.values())
        numbers["active_agreements"] = (
            self.agreements.filter(status__in=LIVE_AGREEMENT_STATUSES)
            .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=self.today))
            .count()
        )
        numbers["network_memberships"] = self.memberships().count()
        numbers["year"] = year
        return numbers

    def memberships(self):
        """Active network memberships of the cities the filters select (memberships carry no
        visibility: everyone may read them)."""
        memberships = NetworkMembership.objects.filter(active_membership_q(self.today))
        cleaned = self.cleaned
        if cleaned.get("state"):
            memberships = memberships.filter(city__subdivision=cleaned["state"].upper())
        if cleaned.get("city"):
            memberships = memberships.filter(city_id=cleaned["city"])
        return memberships

    def month_window(self) -> list[str]:
        """The months the per-month chart shows: 24 by default, ending this month, or the
        months of the date filters (at most ten years)."""
        cleaned = self.cleaned
        start, end = cleaned.get("start_after"), cleaned.get("start_before")
        if end is None:
            end = add_months(start, MONTHS_SHOWN - 1) if start else self.today
        if start is None or start > end:
            start = add_months(end, -(MONTHS_SHOWN - 1))
        start = max(start.replace(day=1), add_months(end, -(MAX_MONTHS_SHOWN - 1)))
        return month_keys(start, end)

    def rows(self, chart: str) -> list[dict]:
        """`[{"key", "label", "count"}]` of one chart (1 query)."""
        if chart == "month":
            counts = {row["key"]: row["count"] for row in self.months}
            return [
                {"key": key, "label": month_label(month_start(key)), "count": counts.get(key, 0)}
                for key in self.month_window()
            ]
        if chart == "region":
            return self.by_region()
        if chart in self.tallied:
            rows = self.tallied[chart]
        elif chart in ("city", "state") and "per_city" in self.tallied:
            per_city = self.tallied["per_city"]
            rows = city_rows(per_city) if chart == "city" else state_rows(per_city)
        else:
            rows = count_engagements(self.engagements, chart)
        if chart == "state":
            rows = [{**row, "label": state_label(row["key"])} for row in rows]
        if chart == "city":
            rows = rows[:MOST_ACTIVE_CITIES]
        return rows

    def by_region(self) -> list[dict]:
        """Engagements per UN M49 region of their counterpart countries; an engagement with two
        counterparts in one region counts once there."""
        counts = self.tallied.get("region")
        if counts is None:
            through = Engagement.counterpart_countries.through
            rows = (
                through.objects.filter(engagement_id__in=self.engagements.order_by().values("pk"))
                .values("country__region")
                .annotate(count=Count("engagement_id", distinct=True))
            )
            counts = {row["country__region"]: row["count"] for row in rows}
        return [
            {"key": region, "label": region or "(no region)", "count": count}
            for region, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

    def expiring_agreements(self) -> tuple[list[Agreement], dict]:
        """Live agreements expiring in the next 90 days, soonest first (1 query), and the
        agreement-list filters that show them all."""
        horizon = self.today + dt.timedelta(days=EXPIRY_HORIZON_DAYS)
        agreements = (
            self.agreements.filter(
                status__in=LIVE_AGREEMENT_STATUSES, expires_on__gte=self.today, expires_on__lte=horizon
            )
            .select_related("city")
            .order_by("expires_on", "title", "pk")[:EXPIRING_SHOWN]
        )
        return list(agreements), {"expires_after": self.today.isoformat(), "expires_before": horizon.isoformat()}


@dataclass
class ReviewQueue:
    """A reviewer's queue: engagements in their portfolio that they may see, unreviewed first
    (by default only those), federal-coordination requests and watch-list counterparts on top."""

    user: object
    params: QueryDict
    filterset: EngagementFilterSet = field(init=False)

    ANY_STATUS = "any"

    def __post_init__(self):
        data = self.params.copy()
        if "review_status" not in data:
            data["review_status"] = Engagement.ReviewStatus.UNREVIEWED
        elif data.get("review_status") == self.ANY_STATUS:
            del data["review_status"]
        self.data = data
        self.filterset = EngagementFilterSet(data=data, queryset=self.scope(), user=self.user)

    def scope(self):
        return Engagement.objects.visible_to(self.user).filter(portfolio_q(self.user))

    def engagements(self) -> "QueueOrder":
        """The queue in its order, for a paginator: read a page at a time, counted once."""
        return QueueOrder(self)

    def ordered(self):
        """Every engagement of the queue in its order, each with its page's relations."""
        unreviewed = Q(review_status=Engagement.ReviewStatus.UNREVIEWED)
        return (
            self.filterset.qs.annotate(
                unreviewed_first=Case(When(unreviewed, then=Value(0)), default=Value(1), output_field=IntegerField()),
                priority=Case(When(priority_q(self.filterset.qs), then=Value(0)), default=Value(1)),
            )
            .select_related("city")
            .prefetch_related(counterpart_countries_marked(), latest_reviews_first())
            .order_by("unreviewed_first", "priority", "-start_date", "-pk")
        )

    def runs(self) -> list[tuple[int, Q]]:
        """The queue's order as runs, each read newest first through an index: per review
        status shown, federal-coordination requests, then watch-list counterparts, then the
        rest; each with its place in the order (unreviewed first, then priority). Runs in the
        same place merge by start date."""
        requested = Q(federal_coordination_requested=True)
        watched = watch_list_q(self.filterset.qs)
        shown = self.cleaned.get("review_status")
        runs = []
        for status in shown or Engagement.ReviewStatus.values:
            place = 0 if status == Engagement.ReviewStatus.UNREVIEWED else 2
            status_q = Q(review_status=status)
            runs += [
                (place, status_q & requested),
                # An empty watch list skips this run at once (a one-time condition).
                (place, status_q & ~requested & watched & Q(Exists(WatchedCountry.objects.all()))),
                (place + 1, status_q & ~requested & ~watched),
            ]
        return runs

    @property
    def cleaned(self) -> dict:
        """The filters as the queue applies them: a field in error is left out, the others hold."""
        self.filterset.is_valid()
        return self.filterset.form.cleaned_data

    @cached_property
    def per_state(self) -> list[dict]:
        """The queue's size per state, with every filter but the state itself (1 query)."""
        data = self.data.copy()
        data.pop("state", None)
        others = EngagementFilterSet(data=data, queryset=self.scope(), user=self.user)
        return [{**row, "label": state_label(row["key"])} for row in count_engagements(others.qs, "state")]

    def count(self) -> int:
        """The queue's size: its per-state counts summed (the state filter picks one), so the
        query that draws the per-state table counts the queue too."""
        state = self.cleaned.get("state")
        if state:
            return sum(row["count"] for row in self.per_state if row["key"] == state.upper())
        return sum(row["count"] for row in self.per_state)


class QueueOrder:
    """The review queue as the paginator reads it: its size, and a slice of its order.

    Sorting a million unreviewed engagements by priority costs seconds. Each run of the order
    (`ReviewQueue.runs`) is instead read newest first through an index, only as far as the
    slice reaches, the runs joined by UNION ALL and the slice taken from their union (one
    query); then the page's records with their relations. A database that cannot order and
    slice inside a UNION (SQLite) sorts the whole queue, which at its sizes is fast."""

    def __init__(self, queue: ReviewQueue):
        self.queue = queue

    def count(self) -> int:
        return self.queue.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Engagement]:
        ordered = self.queue.ordered()
        if not connections[ordered.db].features.supports_slicing_ordering_in_compound:
            return list(ordered[index])
        start, stop = index.start or 0, index.stop
        if stop <= start:
            return []
        base = self.queue.filterset.qs.order_by()
        runs = [
            base.filter(condition)
            .annotate(place=Value(place))
            .order_by("-start_date", "-pk")
            .values_list("pk", "place", "start_date")[:stop]
            for place, condition in self.queue.runs()
        ]
        page = runs[0].union(*runs[1:], all=True).order_by("place", "-start_date", "-pk")[start:stop]
        ids = [pk for pk, _, _ in page]
        return list(ordered.filter(pk__in=ids)) if ids else []


def priority_q(queryset) -> Q:
    """Federal coordination requested, or a counterpart country on the watch list."""
    return Q(federal_coordination_requested=True) | watch_list_q(queryset)


def watch_list_q(queryset) -> Q:
    """A counterpart country on the watch list: on PostgreSQL through the trigger-kept country
    codes and their index (`filter_arrays.py`)."""
    watched = WatchedCountry.objects.order_by().values("country_id")
    if arrays_available(queryset):
        return Q(ArrayMatch(COUNTRY_CODES, "overlaps", watched))
    through = Engagement.counterpart_countries.through
    return Q(Exists(through.objects.filter(engagement_id=OuterRef("pk"), country_id__in=watched)))


def counterpart_countries_marked() -> Prefetch:
    """Each engagement's counterpart countries, each marked `watched` (on the watch list)."""
    watched = Exists(WatchedCountry.objects.filter(country_id=OuterRef("pk")))
    return Prefetch("counterpart_countries", queryset=Country.objects.annotate(watched=watched))


def latest_reviews_first() -> Prefetch:
    return Prefetch("reviews", queryset=Review.objects.select_related("reviewer").order_by("-created_at", "-id"))


def network_member_counts(network: Network, today: dt.date) -> tuple[list[dict], list[dict]]:
    """Current member cities per country, and cities per year joined (2 queries)."""
    memberships = network.memberships.all()
    per_country = (
        memberships.filter(active_membership_q(today))
        .values("city__country_id", "city__country__name")
        .annotate(count=Count("city", distinct=True))
    )
    per_year = (
        memberships.filter(joined_on__isnull=False)
        .annotate(year=ExtractYear("joined_on"))
        .values("year")
        .annotate(count=Count("city", distinct=True))
        .order_by("year")
    )
    countries = [
        {"key": row["city__country_id"], "label": row["city__country__name"], "count": row["count"]}
        for row in sorted(per_country, key=lambda row: (-row["count"], row["city__country__name"]))
    ]
    years = [{"key": row["year"], "label": str(row["year"]), "count": row["count"]} for row in per_year]
    return countries, years


def network_members(network: Network, today: dt.date):
    return (
        network.memberships.select_related("city")
        .annotate(
            active=Case(When(active_membership_q(today), then=Value(1)), default=Value(0), output_field=IntegerField())
        )
        .order_by("-active", "joined_on", "city__name", "pk")
    )
