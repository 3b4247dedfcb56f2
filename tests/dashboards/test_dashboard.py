"""The national dashboard: who may open it, and that every number on it is the number the stats
API and the filtered engagement list give the same person with the same filters."""

import csv
import datetime as dt
import io

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dashboards.worldmap import atlas
from engagements.filters import EngagementFilterSet
from engagements.models import Engagement
from engagements.stats import count_engagements
from tests import factories

from .conftest import make_engagement
from .pagetext import number_of, table_counts, table_rows, text_of

VIEWERS = ["staff_a", "staff_b", "liaison", "admin"]
FILTERS = [
    {},
    {"state": "US-IL"},
    {"topic": ["climate"]},
    {"topic": ["climate", "trade-investment"], "kind": ["trade_mission"]},
    {"visibility": "restricted"},
    {"visibility": "internal", "state": "US-CA"},
]
CHART_TABLES = ["topic", "kind", "country", "state", "city"]


def query(filters: dict) -> QueryDict:
    params = QueryDict(mutable=True)
    for name, value in filters.items():
        params.setlist(name, value if isinstance(value, list) else [value])
    return params


def filtered(user, filters: dict, **more):
    return EngagementFilterSet(data=query({**filters, **more}), queryset=Engagement.objects.visible_to(user)).qs


def page(client, user, filters: dict) -> str:
    client.force_login(user)
    response = client.get(reverse("dashboard"), query(filters))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda filters: query(filters).urlencode() or "no-filters")
def test_every_chart_table_shows_the_stats_api_counts_for_the_same_viewer_and_filters(
    client, world, cast, viewer, filters
):
    user = cast[viewer]
    html = page(client, user, filters)
    for chart in CHART_TABLES:
        expected = {row["label"]: row["count"] for row in count_engagements(filtered(user, filters), chart)}
        if chart == "state":
            expected = {f"{'California' if key == 'US-CA' else 'Illinois'} ({key})": n for key, n in expected.items()}
        assert table_counts(html, f"table-{chart}") == expected, chart
    shown_months = {label: n for label, n in table_counts(html, "table-month").items() if n}
    assert shown_months == {row["label"]: row["count"] for row in count_engagements(filtered(user, filters), "month")}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("filters", FILTERS[:3], ids=lambda filters: query(filters).urlencode() or "no-filters")
def test_every_chart_table_shows_what_the_stats_endpoint_answers_over_http(client, world, cast, viewer, filters):
    user = cast[viewer]
    html = page(client, user, filters)
    api = APIClient()
    api.force_authenticate(user)
    for chart in CHART_TABLES:
        response = api.get("/api/v1/stats/engagements/", query({**filters, "group_by": chart}))
        assert response.status_code == 200
        shown = table_counts(html, f"table-{chart}")
        if chart == "state":
            shown = {label.split("(")[-1].rstrip(")"): n for label, n in shown.items()}
            assert shown == {row["key"]: row["count"] for row in response.json()}, chart
        else:
            assert shown == {row["label"]: row["count"] for row in response.json()}, chart


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda filters: query(filters).urlencode() or "no-filters")
def test_headline_engagement_counts_equal_the_filtered_list_counts(client, world, cast, viewer, filters):
    user = cast[viewer]
    html = page(client, user, filters)
    year = world.today.year
    this_year = filtered(user, filters, start_after=f"{year}-01-01", start_before=f"{year}-12-31")
    last_year = filtered(user, filters, start_after=f"{year - 1}-01-01", start_before=f"{year - 1}-12-31")
    assert number_of(html, "engagements-this-year") == this_year.count()
    assert f"vs {last_year.count()} in {year - 1}" in text_of(html, "engagements-this-year")
    assert number_of(html, "cities-active") == this_year.values("city").distinct().count()


@pytest.mark.parametrize(
    ("viewer", "role", "home"),
    [
        ("staff_a", "staff", "city_a"),
        ("staff_b", "staff", "city_b"),
        ("liaison", "liaison", None),
        ("admin", "admin", None),
    ],
)
def test_the_dashboard_counts_exactly_what_the_spec_lets_each_role_see(
    client, world, cast, request, viewer, role, home
):
    home_id = request.getfixturevalue(home).pk if home else None
    seen = world.visible_to(role, home_id)
    html = page(client, cast[viewer], {})
    states = table_counts(html, "table-state")
    assert sum(states.values()) == len(seen)
    assert states["Illinois (US-IL)"] == sum(1 for made in seen if made.state == "US-IL")
    assert table_counts(html, "table-topic")["Climate"] == sum(1 for made in seen if "climate" in made.topics)
    assert table_counts(html, "table-country")["Germany"] == sum(1 for made in seen if "DE" in made.countries)
    assert number_of(html, "engagements-this-year") == sum(1 for made in seen if made.start.year == world.today.year)
    # Every agreement expires within 30 days; staff see their own restricted one, not the other city's.
    expected_agreements = {"staff": 5, "liaison": 6, "admin": 6}[role]
    assert number_of(html, "active-agreements") == expected_agreements
    assert len(table_rows(html, "table-expiring")) == expected_agreements


def all_numbers(html: str) -> dict:
    numbers = {
        testid: text_of(html, testid)
        for testid in (
            "cities-active",
            "engagements-this-year",
            "active-agreements",
            "network-memberships",
            "awaiting-review",
        )
    }
    for chart in ["month", *CHART_TABLES, "region", "expiring"]:
        numbers[chart] = table_rows(html, f"table-{chart}")
    return numbers


def test_a_restricted_record_of_another_city_never_moves_a_number_for_staff(client, world, cast, city_b, admin_user):
    before = all_numbers(page(client, cast["staff_a"], {}))
    moscow = factories.CityFactory(name="Moscow", country=factories.country("RU"), subdivision="")
    make_engagement(
        world,
        admin_user,
        city_b,
        visibility="restricted",
        start=world.today,
        counterparts=[moscow],
        topics=["cybersecurity"],
        kind="dignitary_visit",
        federal=True,
    )
    factories.AgreementFactory(city=city_b, visibility="restricted", expires_on=world.today + dt.timedelta(days=3))
    assert all_numbers(page(client, cast["staff_a"], {})) == before
    liaison_html = page(client, cast["liaison"], {})
    assert table_counts(liaison_html, "table-country")["Russia"] == 1


def test_a_filter_changes_the_numbers(client, world, liaison):
    everything = page(client, liaison, {})
    assert number_of(everything, "engagements-this-year") == 6
    illinois = page(client, liaison, {"state": "US-IL"})
    assert number_of(illinois, "engagements-this-year") == 3
    assert table_counts(illinois, "table-state") == {"Illinois (US-IL)": 5}
    assert "state Illinois (US-IL)" in text_of(illinois, "filter-summary")


def test_a_filter_that_does_not_parse_is_reported_and_left_out(client, world, liaison):
    client.force_login(liaison)
    response = client.get(reverse("dashboard"), {"state": "California", "kind": "trade_mission"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "These filters were not applied" in html and "state:" in html
    assert table_counts(html, "table-kind") == {"Trade mission": 2}


def test_the_review_count_is_the_liaisons_portfolio(client, world, city_a):
    west = factories.UserFactory(username="wes", role="liaison")
    west.portfolio_states.create(subdivision="US-CA")
    html = page(client, west, {})
    assert number_of(html, "awaiting-review") == sum(1 for made in world.engagements if made.state == "US-CA")


@pytest.mark.parametrize(("viewer", "status"), [("partner", 403), ("staff_a", 200), ("liaison", 200), ("admin", 200)])
def test_who_may_open_the_dashboard(client, cast, viewer, status):
    client.force_login(cast[viewer])
    assert client.get(reverse("dashboard")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("chart", ["month", "topic", "kind", "country", "region", "state", "city"])
def test_each_chart_downloads_as_csv_with_the_same_rows_as_its_table(client, world, liaison, chart):
    filters = {"topic": ["climate"]}
    html = page(client, liaison, filters)
    response = client.get(reverse("dashboard-csv", args=[chart]), query(filters))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["key", "label", "count"]
    assert {label: int(count) for _, label, count in rows[1:]} == table_counts(html, f"table-{chart}")


def test_csv_cells_never_start_a_formula(client, world, liaison, admin_user, foreign_city):
    evil = factories.CityFactory(name='=HYPERLINK("http://x")', subdivision="US-TX")
    make_engagement(
        world,
        admin_user,
        evil,
        visibility="internal",
        start=world.today,
        counterparts=[foreign_city],
        topics=["climate"],
    )
    client.force_login(liaison)
    response = client.get(reverse("dashboard-csv", args=["city"]))
    labels = [row[1] for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))]
    assert '\'=HYPERLINK("http://x"), US-TX' in labels
    assert not any(label.startswith(("=", "+", "-", "@")) for label in labels)


def test_the_world_map_is_drawn_and_marks_counterpart_countries(client, world, liaison):
    html = page(client, liaison, {})
    assert html.count("<path ") >= len(atlas().shapes) > 150
    japan = next(shape for shape in atlas().shapes if shape.iso2 == "JP")
    assert len(japan.path) > 100
    assert 'fill="url(#wm-b' in html.split('data-iso2="JP"')[0].rsplit("<path", 1)[1]
    assert "Japan: 7 engagements" in html


def many_engagements(actor, count: int) -> None:
    """`count` engagements spread over cities, states, countries, topics, kinds and reviews."""
    homes = [factories.CityFactory(subdivision=state) for state in ("US-CA", "US-IL", "US-NY", "US-TX", "US-WA")]
    abroad = [
        factories.CityFactory(country=factories.country(code), subdivision="") for code in ("JP", "DE", "BR", "MX")
    ]
    topics = [factories.topic(slug) for slug in ("climate", "trade-investment", "public-health")]
    kinds = [choice for choice, _ in Engagement.Kind.choices]
    for number in range(count):
        engagement = factories.EngagementFactory(
            city=homes[number % len(homes)],
            kind=kinds[number % len(kinds)],
            visibility=("public", "internal", "restricted")[number % 3],
            start_date=dt.date(2025, 1, 1) + dt.timedelta(days=17 * number),
        )
        engagement.counterpart_cities.set([abroad[number % len(abroad)]])
        engagement.counterpart_countries.set([abroad[number % len(abroad)].country_id])
        engagement.topics.set(topics[: 1 + number % 3])
        factories.AgreementFactory(
            city=homes[number % len(homes)], expires_on=timezone.localdate() + dt.timedelta(days=number)
        )


# The dashboard's queries, named: the session; the user; (staff) their home cities for the policy;
# the headline engagement numbers; the live agreements; the active memberships; one per chart:
# month, topic, kind, country, region, state and city; the expiring agreements; the topics of the
# filter form; the page header's unread notifications and home cities; the session saved again
# (savepoint, update, release). A topic filter costs nothing: slugs are checked without a query.
DASHBOARD_QUERIES = {"liaison": 19, "staff_a": 20}


@pytest.mark.parametrize("size", [5, 50])
@pytest.mark.parametrize("viewer", ["liaison", "staff_a"])
def test_the_dashboard_costs_the_same_queries_whatever_the_data_size(
    client, cast, admin_user, size, viewer, django_assert_num_queries
):
    many_engagements(admin_user, size)
    client.force_login(cast[viewer])
    with django_assert_num_queries(DASHBOARD_QUERIES[viewer]):
        response = client.get(reverse("dashboard"), {"topic": "climate"})
    assert response.status_code == 200
