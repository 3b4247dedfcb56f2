"""A hostile HTTP corpus: every query parameter of the list, stats and dashboard routes with dates
no record can have, NUL, huge numbers and unknown values, as a liaison (who sees everything), and
(the second part) every query parameter of every API list route (read from the viewsets'
filtersets, so a new filter or route is covered by itself) and of every HTML list page, as
anonymous visitors, partners (API token) and staff; each case has its exact expected status in
http_corpus.json beside this file. Regenerate with
`HTTP_CORPUS_RECORD=1 pytest tests/hostile/test_http_corpus.py` and review: no case may ever
expect a 500."""

import json
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.services import issue_token
from cities.filters import MembershipFilterSet
from contacts.filters import ContactFilterSet
from dashboards.views import CHARTS, DASHBOARD_FILTERS
from diplomacy.api_urls import router
from engagements.filters import AgreementFilterSet, EngagementFilterSet

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).with_name("http_corpus.json")
HOSTILE = {
    "date_min": "0001-01-01",
    "date_max": "9999-12-31",
    "date_bad": "2024-02-30",
    "nul": "%00",
    "huge": "9" * 40,
    "unknown": "no-such-value",
}
ROUTES = {
    "/api/v1/engagements/": [
        "start_after",
        "start_before",
        "city",
        "state",
        "kind",
        "status",
        "topic",
        "counterpart_country",
        "counterpart_city",
        "visibility",
        "q",
        "review_status",
        "federal_coordination_requested",
        "ordering",
        "page",
        "page_size",
    ],
    "/api/v1/agreements/": [
        "signed_after",
        "signed_before",
        "expires_before",
        "expires_after",
        "city",
        "kind",
        "status",
        "q",
    ],
    "/api/v1/stats/engagements/": ["group_by", "start_after", "start_before"],
    "/api/v1/cities/": ["country", "subdivision", "q", "min_population", "has_office", "network"],
    "/api/v1/memberships/": ["network", "city", "active"],
    "/engagements/": ["start_after", "start_before", "city", "kind", "q", "page"],
    "/agreements/": ["signed_after", "expires_before", "q"],
    "/dashboard/": ["start_after", "start_before", "state", "topic", "kind"],
    "/dashboard/month.csv": ["start_after", "start_before"],
    "/": ["start_before", "q", "page"],
    "/cities/search/": ["q"],
    "/organizations/search/": ["q"],
}
CASES = [(path, name, label) for path, names in ROUTES.items() for name in names for label in HOSTILE]


def _key(path, name, label):
    return f"{path}?{name}={label}"


@pytest.fixture
def expected():
    return json.loads(CORPUS.read_text()) if CORPUS.exists() else {}


def test_the_corpus_has_at_least_sixty_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize(("path", "name", "label"), CASES, ids=[_key(*case) for case in CASES])
def test_hostile_request_gets_its_expected_answer(client, liaison, city_a, path, name, label, expected):
    client.force_login(liaison)
    extra = "group_by=month&" if path.startswith("/api/v1/stats/") and name != "group_by" else ""
    status = client.get(f"{path}?{extra}{name}={HOSTILE[label]}").status_code
    assert status != 500
    if os.environ.get("HTTP_CORPUS_RECORD"):
        record = json.loads(CORPUS.read_text()) if CORPUS.exists() else {}
        record[_key(path, name, label)] = status
        CORPUS.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
        return
    assert status == expected[_key(path, name, label)]


# --- Part two: every parameter of every list route, per role ------------------------------------

HOSTILE_VALUES = {
    "date_min": "0001-01-01",
    "date_max": "9999-12-31",
    "date_feb30": "2026-02-30",
    "nul": "%00",
    "huge": "99999999999999999999999",
    "negative": "-1",
    "unknown": "no-such-value",
    "overlong": "x" * 5000,
}
REPEATED = "repeated"  # name=no-such-value&name=2024-01-01&name=-1


def _query(name: str, label: str) -> str:
    if label == REPEATED:
        return f"{name}=no-such-value&{name}=2024-01-01&{name}=-1"
    return f"{name}={HOSTILE_VALUES[label]}"


def _api_parameters(viewset) -> list[str]:
    """What a list route reads from the URL: its filterset's filters, paging, format, expand."""
    names = {"page", "page_size", "format"}
    filterset = getattr(viewset, "filterset_class", None)
    if filterset is not None:
        names |= set(filterset.base_filters)
    names |= set(getattr(viewset, "filterset_fields", None) or ())
    if getattr(viewset, "ordering_fields", None):
        names.add("ordering")
    if getattr(getattr(viewset, "serializer_class", None), "expandable", None):
        names.add("expand")
    return sorted(names)


def _api_routes() -> dict[str, list[str]]:
    return {
        f"/api/v1/{prefix}/": _api_parameters(viewset)
        for prefix, viewset, _ in router.registry
        if hasattr(viewset, "list")
    }


LIST_PAGE = ["page", "ordering", "format"]
HTML_ROUTES = {
    # path: (parameters, roles)
    "/engagements/": (sorted(EngagementFilterSet.base_filters) + LIST_PAGE, ("anonymous", "staff")),
    "/agreements/": (sorted(AgreementFilterSet.base_filters) + LIST_PAGE, ("anonymous", "staff")),
    "/memberships/": (sorted(MembershipFilterSet.base_filters) + LIST_PAGE, ("anonymous", "staff")),
    "/dashboard/": (list(DASHBOARD_FILTERS), ("anonymous", "staff")),
    **{f"/dashboard/{chart}.csv": (list(DASHBOARD_FILTERS), ("staff",)) for chart in CHARTS},
    "/review/": (sorted(EngagementFilterSet.base_filters) + ["page"], ("liaison", "staff")),
    # The public portal (anonymous, partner) and the staff desk.
    "/": ([*DASHBOARD_FILTERS, "q", "page", "agreement_page"], ("anonymous", "partner", "staff")),
    "/cities/search/": (["q", "counterpart_cities_query", "location_city_query"], ("anonymous", "staff")),
    "/organizations/search/": (["q", "counterpart_organizations_query"], ("anonymous", "staff")),
    "/notifications/": (["page"], ("anonymous", "staff")),
    "/contacts/": (sorted(ContactFilterSet.base_filters) + LIST_PAGE, ("anonymous", "staff")),
    "/contacts/search/": (["q", "participants-0-contact_query"], ("anonymous", "staff")),
    "/imports/": (["page", "kind"], ("anonymous", "staff")),
}
API_ROLES = ("anonymous", "partner", "staff")
LABELS = [*HOSTILE_VALUES, REPEATED]


def _role_routes() -> list[tuple[str, str, list[str]]]:
    routes = [(role, path, names) for path, names in _api_routes().items() for role in API_ROLES]
    routes += [(role, path, names) for path, (names, roles) in HTML_ROUTES.items() for role in roles]
    return routes


ROLE_ROUTES = _role_routes()


def _role_key(role: str, path: str, name: str, label: str) -> str:
    return f"{role} {path}?{name}={label}"


def test_the_role_corpus_covers_every_api_list_route_and_filter():
    routes = _api_routes()
    for prefix, viewset, _ in router.registry:
        if hasattr(viewset, "list"):
            names = routes[f"/api/v1/{prefix}/"]
            filterset = getattr(viewset, "filterset_class", None)
            assert set(getattr(filterset, "base_filters", {})) <= set(names)
    cases = sum(len(names) * len(LABELS) for _, _, names in ROLE_ROUTES)
    assert cases >= 60 + len(CASES)


def _client_for(role, users) -> Client:
    client = Client()
    if role == "partner":
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {issue_token(user=users['partner'])}"
    elif role != "anonymous":
        client.force_login(users[role])
    return client


@pytest.mark.parametrize(
    ("role", "path", "names"), ROLE_ROUTES, ids=[f"{role} {path}" for role, path, _ in ROLE_ROUTES]
)
def test_every_parameter_of_a_list_route_takes_hostile_values(role, path, names, staff_a, partner, liaison, city_a):
    users = {"staff": staff_a, "partner": partner, "liaison": liaison}
    client = _client_for(role, users)
    extra = "group_by=month&" if path.startswith("/api/v1/stats/") else ""
    recording = bool(os.environ.get("HTTP_CORPUS_RECORD"))
    stored = json.loads(CORPUS.read_text()) if CORPUS.exists() else {}
    found, crashes, mismatches = {}, [], []
    for name in names:
        for label in LABELS:
            cache.clear()  # the partner throttle counts per user; these are not a burst
            key = _role_key(role, path, name, label)
            status = client.get(f"{path}?{extra}{_query(name, label)}").status_code
            found[key] = status
            if status >= 500:
                crashes.append(key)
            elif not recording and stored.get(key) != status:
                mismatches.append((key, stored.get(key), status))
    if recording:
        record = json.loads(CORPUS.read_text()) if CORPUS.exists() else {}
        record.update({key: status for key, status in found.items() if status < 500})
        CORPUS.write_text(json.dumps(dict(sorted(record.items())), indent=1) + "\n")
    assert not crashes, crashes
    assert not mismatches, mismatches
