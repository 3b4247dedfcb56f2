"""The read-side pages: the front door, the national dashboard, city and network profiles, the
public portal and the liaison review queue."""

import calendar
import datetime as dt
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role, User
from accounts.policy import portfolio_states, reads_internal, reviews_engagements, role_of
from cities.models import City, Country, Network, Topic
from engagements.desk import staff_desk
from engagements.models import Agreement, Engagement, Review, Visibility
from engagements.services import add_review
from engagements.stats import count_engagements
from utilities.csv import csv_response
from utilities.dates import month_start

from .charts import horizontal_bars, month_columns, month_keys
from .selectors import (
    EXPIRY_HORIZON_DAYS,
    MAX_MONTHS_SHOWN,
    US_STATES,
    Dashboard,
    ReviewQueue,
    active_membership_q,
    add_months,
    counterpart_countries_marked,
    latest_reviews_first,
    network_member_counts,
    network_members,
    state_label,
)
from .worldmap import world_map

# name: (title, what a row is, how to read it)
CHARTS = {
    "month": ("Engagements per month", "Month", "by start date"),
    "topic": ("Engagements by topic", "Topic", "an engagement with several topics counts under each"),
    "kind": ("Engagements by kind", "Kind", ""),
    "country": (
        "Engagements by counterpart country",
        "Country",
        "an engagement with counterparts in several countries counts under each",
    ),
    "region": ("Engagements by world region (UN M49)", "Region", "an engagement counts once per region"),
    "state": ("Engagements by US state", "State", "the state of the city that logged it"),
    "city": ("Most active cities", "City", "the cities that logged the most engagements"),
}
# The engagement-list filter each chart's rows stand for, so a row links to its records.
DRILL_FILTERS = {"topic": "topic", "kind": "kind", "country": "counterpart_country", "state": "state", "city": "city"}
DASHBOARD_FILTERS = ("start_after", "start_before", "state", "topic", "kind", "visibility")
# The engagement list's other filters, which the review queue takes too (SPEC §8.1).
REVIEW_LIST_FILTERS = ("q", "city", "counterpart_country", "status", "federal_coordination_requested")
PAGE_SIZE = 25
# Undated (proposed) agreements last.
AGREEMENTS_NEWEST_FIRST = (F("signed_on").desc(nulls_last=True), "title", "pk")
REVIEW_PAGE_SIZE = 50


def home(request):
    """`/`: staff get their city desk, liaisons and admins the national dashboard, everyone
    else (anonymous visitors and partners) the public portal."""
    role = role_of(request.user)
    if role == Role.STAFF:
        return staff_desk(request)
    if role in (Role.LIAISON, Role.ADMIN):
        return dashboard(request)
    return public_portal(request)


def _drill_query(params: QueryDict, chart: str, key) -> str | None:
    """The engagement-list query string showing the records behind one row of `chart`."""
    query = QueryDict(mutable=True)
    for name in DASHBOARD_FILTERS:
        if name in params:
            query.setlist(name, params.getlist(name))
    if chart == "month":
        first = month_start(key)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        query["start_after"], query["start_before"] = first.isoformat(), last.isoformat()
    elif chart in DRILL_FILTERS and key not in (None, ""):
        query.setlist(DRILL_FILTERS[chart], [str(key)])
    else:
        return None
    return query.urlencode()


def _chart(board: Dashboard, params: QueryDict, name: str) -> dict:
    rows = board.rows(name)
    for row in rows:
        row["drill"] = _drill_query(params, name, row["key"])
    counts = {row["key"]: row["count"] for row in rows}
    csv_url = reverse("dashboard-csv", args=[name])
    return {
        "name": name,
        "title": CHARTS[name][0],
        "key_heading": CHARTS[name][1],
        "note": CHARTS[name][2],
        "rows": rows,
        "svg": month_columns(list(counts), counts) if name == "month" else horizontal_bars(rows),
        "csv_url": f"{csv_url}?{params.urlencode()}" if params else csv_url,
    }


def _filter_choices() -> dict:
    """What the filter form offers (1 query: the topics)."""
    return {
        "topics": list(Topic.objects.order_by("name")),
        "kinds": Engagement.Kind.choices,
        "states": sorted(US_STATES.items(), key=lambda item: item[1]),
        "visibilities": Visibility.choices,
    }


def _summary(cleaned: dict, choices: dict) -> list[str]:
    """The filters in force, in words, so a printout says what it counts."""
    parts = []
    if cleaned.get("start_after"):
        parts.append(f"from {cleaned['start_after']:%Y-%m-%d}")
    if cleaned.get("start_before"):
        parts.append(f"to {cleaned['start_before']:%Y-%m-%d}")
    if cleaned.get("state"):
        parts.append(f"state {state_label(cleaned['state'].upper())}")
    if cleaned.get("topic"):
        names = {topic.slug: topic.name for topic in choices["topics"]}
        parts.append("topics " + ", ".join(names.get(slug, slug) for slug in cleaned["topic"]))
    if cleaned.get("kind"):
        labels = dict(choices["kinds"])
        parts.append("kinds " + ", ".join(labels[kind] for kind in cleaned["kind"]))
    if cleaned.get("visibility"):
        parts.append(f"visibility {dict(choices['visibilities'])[cleaned['visibility']]}")
    return parts


def _requires_internal_reader(request):
    if not reads_internal(request.user):
        raise PermissionDenied


@login_required
@require_GET
def dashboard(request):
    """The national dashboard. Its queries, whatever the data size: (staff) their home cities,
    (a liaison with some states) their portfolio, the engagement tallies of every chart and the
    headline (1; when filters the tallies lack apply, one per chart and one for the headline),
    the expiring agreements, the topics of the filter form, live agreements and memberships,
    besides the session and the page header's."""
    _requires_internal_reader(request)
    params = request.GET
    board = Dashboard(request.user, params)
    charts = [_chart(board, params, name) for name in CHARTS]
    by_name = {chart["name"]: chart for chart in charts}
    expiring, expiring_filters = board.expiring_agreements()
    choices = _filter_choices()
    context = {
        "board": board,
        "params": params,
        "selected": {name: params.getlist(name) for name in DASHBOARD_FILTERS},
        "headline": board.headline(),
        "charts": charts,
        "month_chart": by_name["month"],
        "map": world_map(
            {row["key"]: row["count"] for row in by_name["country"]["rows"]},
            {row["key"]: row["label"] for row in by_name["country"]["rows"]},
        ),
        "country_chart": by_name["country"],
        "other_charts": [by_name[name] for name in ("topic", "kind", "region", "state", "city")],
        "expiring": expiring,
        "expiring_query": _query_string(expiring_filters),
        "expiry_days": EXPIRY_HORIZON_DAYS,
        "reviewer": reviews_engagements(request.user),
        **choices,
    }
    context["summary"] = _summary(board.cleaned, choices)
    return render(request, "dashboards/dashboard.html", context)


def _query_string(values: dict) -> str:
    query = QueryDict(mutable=True)
    query.update(values)
    return query.urlencode()


@login_required
@require_GET
def dashboard_csv(request, chart: str):
    """One chart's table as CSV, with the same filters (1 query for the chart)."""
    _requires_internal_reader(request)
    board = Dashboard(request.user, request.GET)
    if chart == "expiring":
        agreements, _ = board.expiring_agreements()
        return csv_response(
            "agreements-expiring.csv",
            ["id", "title", "city", "kind", "status", "expires_on"],
            (
                [a.pk, a.title, a.city.label, a.get_kind_display(), a.get_status_display(), a.expires_on]
                for a in agreements
            ),
            stream=False,
        )
    if chart not in CHARTS:
        raise Http404
    return csv_response(
        f"engagements-by-{chart}.csv",
        ["key", "label", "count"],
        ((r["key"], r["label"], r["count"]) for r in board.rows(chart)),
        stream=False,
    )


@require_GET
def public_portal(request):
    """Public records for everyone: searchable lists, the map and counts. Counts go through
    the same policy as every page, so for anonymous visitors and partners only public records
    exist. Queries: the portal numbers, the map's countries, and a count and a page for each list."""
    params = request.GET
    board = Dashboard(request.user, params)
    engagements = board.engagements.select_related("city").order_by("-start_date", "-pk")
    agreements = board.agreements.select_related("city").order_by(*AGREEMENTS_NEWEST_FIRST)
    engagement_page = Paginator(engagements, PAGE_SIZE).get_page(params.get("page"))
    agreement_page = Paginator(agreements, PAGE_SIZE).get_page(params.get("agreement_page"))
    countries = count_engagements(board.engagements, "country")
    numbers = board.engagements.aggregate(cities=Count("city", distinct=True))
    context = {
        "params": params,
        "q": params.get("q", ""),
        "errors": board.errors,
        "numbers": numbers,
        "engagement_page": engagement_page,
        "agreement_page": agreement_page,
        "countries": countries,
        "map": world_map(
            {row["key"]: row["count"] for row in countries}, {row["key"]: row["label"] for row in countries}
        ),
        "page_query": _without(params, "page"),
        "agreement_page_query": _without(params, "agreement_page"),
    }
    return render(request, "dashboards/portal.html", context)


def _without_params(params: QueryDict, name: str) -> QueryDict:
    query = params.copy()
    query.pop(name, None)
    return query


def _without(params: QueryDict, name: str) -> str:
    return _without_params(params, name).urlencode()


def _portfolio_label(user) -> str:
    states = portfolio_states(user)
    if states is None:
        return "every state"
    return ", ".join(sorted(states)) or "no states"


@require_GET
def city_profile(request, slug: str):
    """A city's office, agreements, memberships, engagement timeline and partner map, over the
    records the viewer may see. Queries: the city with its office, its agreements, its
    memberships, the engagement counts (1), the timeline (2: the latest engagements, the months),
    and the partner countries of engagements and of agreements (2)."""
    city = get_object_or_404(City.objects.select_related("country", "office"), slug=slug)
    today = timezone.localdate()
    engagements = Engagement.objects.visible_to(request.user).filter(city=city)
    visible_agreements = Agreement.objects.visible_to(request.user).filter(city=city)
    agreements = list(visible_agreements.prefetch_related("counterpart_cities").order_by(*AGREEMENTS_NEWEST_FIRST))
    memberships = list(
        city.memberships.select_related("network")
        .annotate(is_active=Count("pk", filter=active_membership_q(today)))
        .order_by("network__name", "joined_on")
    )
    numbers = engagements.aggregate(
        total=Count("pk"),
        upcoming=Count("pk", filter=Q(start_date__gte=today)),
    )
    partner_counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for row in count_engagements(engagements, "country"):
        partner_counts[row["key"]] = partner_counts.get(row["key"], 0) + row["count"]
        names[row["key"]] = row["label"]
    through = Agreement.counterpart_countries.through
    agreement_countries = (
        through.objects.filter(agreement_id__in=visible_agreements.values("pk"))
        .values("country_id", "country__name")
        .annotate(count=Count("*"))
    )
    agreement_counts = {}
    for row in agreement_countries:
        agreement_counts[row["country_id"]] = row["count"]
        partner_counts[row["country_id"]] = partner_counts.get(row["country_id"], 0) + row["count"]
        names[row["country_id"]] = row["country__name"]
    months = count_engagements(engagements, "month")
    month_counts = {row["key"]: row["count"] for row in months}
    # Every month from the first engagement to the last, empty ones included, at most ten years.
    shown_months = month_keys(*_month_span(months)) if months else []
    partners = sorted(
        (
            {"key": iso2, "label": names[iso2], "count": count, "agreements": agreement_counts.get(iso2, 0)}
            for iso2, count in partner_counts.items()
        ),
        key=lambda row: (-row["count"], row["label"]),
    )
    context = {
        "city": city,
        "office": getattr(city, "office", None),
        "agreements": agreements,
        "memberships": memberships,
        "numbers": numbers,
        "timeline": list(engagements.select_related("location_city").order_by("-start_date", "-pk")[:30]),
        "timeline_month_chart": {
            "name": "month",
            "title": "Engagements per month",
            "svg": month_columns(shown_months, month_counts),
        },
        "months": months,
        "partners": partners,
        "map": world_map(partner_counts, names, unit="records"),
        "active_memberships": sum(1 for membership in memberships if membership.is_active),
    }
    return render(request, "dashboards/city.html", context)


def _month_span(months: list[dict]) -> tuple[dt.date, dt.date]:
    last = month_start(months[-1]["key"])
    first = month_start(months[0]["key"])
    return max(first, add_months(last, -(MAX_MONTHS_SHOWN - 1))), last


@require_GET
def network_detail(request, slug: str):
    """A network's members with their roles and join dates, their map and the joining timeline.
    Queries: the network with its headquarters, its members, their countries, their join years."""
    network = get_object_or_404(Network.objects.select_related("headquarters"), slug=slug)
    today = timezone.localdate()
    members = list(network_members(network, today))
    countries, joined = network_member_counts(network, today)
    context = {
        "network": network,
        "current": [member for member in members if member.active],
        "former": [member for member in members if not member.active],
        "map": world_map(
            {row["key"]: row["count"] for row in countries},
            {row["key"]: row["label"] for row in countries},
            unit="member cities",
        ),
        "countries": countries,
        "joined": joined,
        "joined_chart": {
            "name": "joined",
            "title": "Member cities by year joined",
            "rows": joined,
            "svg": horizontal_bars(joined),
        },
    }
    return render(request, "dashboards/network.html", context)


def _requires_reviewer(request):
    if not reviews_engagements(request.user):
        raise PermissionDenied


@login_required
@require_GET
def review_queue(request):
    """The liaison review queue. Queries: the session, the user, (a liaison with some states)
    their portfolio, the queue's count and page, the page's counterpart countries and reviews,
    the watch list, and the counts per state."""
    _requires_reviewer(request)
    queue = ReviewQueue(request.user, request.GET)
    page = Paginator(queue.engagements(), REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "queue": queue,
        "page": page,
        "rows": [_review_row(engagement) for engagement in page],
        "errors": queue.filterset.errors,
        "per_state": queue.per_state,
        "params": request.GET,
        "selected": {name: request.GET.getlist(name) for name in (*DASHBOARD_FILTERS, *REVIEW_LIST_FILTERS)},
        "review_status": queue.data.get("review_status", ReviewQueue.ANY_STATUS),
        "review_statuses": Engagement.ReviewStatus.choices,
        "decisions": Review.Decision.choices,
        "page_query": _without(request.GET, "page"),
        "state_query": _without(_without_params(request.GET, "page"), "state"),
        "here": request.get_full_path(),
        "portfolio": _portfolio_label(request.user),
        "status_label": dict(Engagement.ReviewStatus.choices).get(queue.data.get("review_status"), "any review status"),
        **_filter_choices(),
        **_review_list_choices(request),
    }
    return render(request, "dashboards/review_queue.html", context)


def _review_list_choices(request) -> dict:
    """The list filters' choices on the queue (2 queries): the cities that log records (home
    cities of staff) and the one filtered on, and the countries."""
    homes = User.home_cities.through.objects.values("city_id")
    chosen = [value for value in request.GET.getlist("city") if value.isdigit() and len(value) < 19]
    return {
        "city_options": City.objects.filter(Q(pk__in=homes) | Q(pk__in=chosen)).order_by("name", "pk"),
        "countries": Country.objects.order_by("name").only("iso2", "name"),
        "engagement_statuses": Engagement.Status.choices,
    }


def _queue_counts(user, queue_url: str) -> dict:
    """The queue's count and per-state table for the queue page `queue_url` (its filters), redrawn
    out of band after a decision made in place (2 queries)."""
    params = QueryDict(urlsplit(queue_url).query)
    queue = ReviewQueue(user, params)
    return {
        "count": queue.count(),
        "per_state": queue.per_state,
        "state_query": _without(_without_params(params, "page"), "state"),
        "oob": True,
    }


def _review_row(engagement: Engagement) -> dict:
    """A queue row of an engagement read with `counterpart_countries_marked` and
    `latest_reviews_first`."""
    countries = list(engagement.counterpart_countries.all())
    reviews = list(engagement.reviews.all())
    return {
        "engagement": engagement,
        "countries": [(country, country.watched) for country in countries],
        "on_watch_list": any(country.watched for country in countries),
        "latest_review": reviews[0] if reviews else None,
    }


@login_required
@require_POST
def review_engagement(request, pk: int):
    """Acknowledge, ask for follow-up or flag one engagement, with a comment. With htmx the
    answer is the queue's row, redrawn in place; a plain form post returns to the queue."""
    _requires_reviewer(request)
    engagement = get_object_or_404(Engagement.objects.visible_to(request.user).select_related("city"), pk=pk)
    decision, comment = request.POST.get("decision", ""), request.POST.get("comment", "").strip()
    error = None
    try:
        add_review(reviewer=request.user, engagement=engagement, decision=decision, comment=comment)
    except ValidationError as exc:
        error = "; ".join(exc.messages)
    if request.htmx:
        engagement = (
            Engagement.objects.filter(pk=engagement.pk)
            .select_related("city")
            .prefetch_related(counterpart_countries_marked(), latest_reviews_first())
            .get()
        )
        context = {
            "row": _review_row(engagement),
            "decisions": Review.Decision.choices,
            "error": error,
            "just_reviewed": error is None,
            "here": request.POST.get("next", ""),
            # The queue's count and per-state table follow the decision (htmx out-of-band swaps).
            **_queue_counts(request.user, request.POST.get("next", "")),
        }
        # htmx swaps only successful answers; the row itself says what went wrong.
        return render(request, "dashboards/_review_decided.html", context)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("review")
    if error:
        messages.error(request, f"“{engagement.title}” was not reviewed: {error}")
    return redirect(target)
