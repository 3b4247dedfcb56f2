"""The public portal, city profiles and network pages: public records only for the public, and
each page's cost fixed whatever the data size."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories

from .conftest import World, make_engagement
from .pagetext import number_of, table_counts, table_rows, text_of


def test_anonymous_visitors_get_the_portal_with_public_records_only(client, world):
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    listed = [row[1] for row in table_rows(html, "public-engagement-list")]
    assert len(listed) == 3 and all("(public)" in title for title in listed)
    assert number_of(html, "public-engagements") == 3
    agreements = [row[1] for row in table_rows(html, "public-agreement-list")]
    assert sorted(agreements) == ["Chicago sister cities (public)", "Los Angeles sister cities (public)"]
    assert table_counts(html, "table-country") == {"Japan": 2, "Germany": 1}
    assert "(internal)" not in html and "(restricted)" not in html


def test_partners_get_the_same_public_portal(client, world, partner):
    client.force_login(partner)
    html = client.get(reverse("home")).content.decode()
    assert number_of(html, "public-engagements") == 3
    assert "(restricted)" not in html


def test_the_portal_search_finds_public_records_only(client, world):
    html = client.get(reverse("home"), {"q": "trade_mission"}).content.decode()
    assert [row[1] for row in table_rows(html, "public-engagement-list")] == [
        next(made for made in world.engagements if made.kind == "trade_mission" and made.visibility == "public")
        and f"Chicago trade_mission (public) {dt.date(world.today.year - 1, 6, 15)}"
    ]
    assert number_of(html, "public-agreements") == 0


@pytest.mark.parametrize("viewer", ["liaison", "admin"])
def test_liaisons_and_admins_land_on_the_dashboard(client, cast, viewer):
    client.force_login(cast[viewer])
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "National dashboard" in response.content.decode()


def test_staff_land_on_their_city_desk(client, staff_a):
    client.force_login(staff_a)
    html = client.get(reverse("home")).content.decode()
    assert "Recent liaison reviews" in html and "National dashboard" not in html


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [("anonymous", 1), ("partner", 1), ("staff_b", 2), ("staff_a", 3), ("liaison", 3)],
)
def test_a_city_profile_counts_only_what_the_viewer_may_see(client, world, cast, city_a, viewer, expected):
    if cast[viewer]:
        client.force_login(cast[viewer])
    html = client.get(reverse("city-profile", args=[city_a.slug])).content.decode()
    assert number_of(html, "city-engagements") == expected
    assert number_of(html, "city-agreements") == expected
    assert len(text_of(html, "timeline").split("Los Angeles bilateral_meeting")) - 1 == expected
    assert table_rows(html, "table-partners") == [["Japan", str(2 * expected), str(expected)]]
    assert number_of(html, "city-memberships") == 1


def test_an_unknown_city_is_not_found(client, db):
    assert client.get(reverse("city-profile", args=["atlantis"])).status_code == 404


def test_a_network_page_lists_members_with_roles_and_join_dates(client, world):
    html = client.get(reverse("network-detail", args=["c40"])).content.decode()
    assert table_rows(html, "members") == [["Los Angeles, US-CA", "Steering committee", "2010-03-01", ""]]
    assert "Former members" in html and "2015-01-01" in html
    assert 'data-iso2="US" d=' in html and 'fill="url(#wm-b4)" data-iso2="US"' in html


# The city profile's queries, named: the city with its office; its agreements; their counterpart
# cities; its memberships; the engagement numbers; the partner countries of engagements, then of
# agreements; the months; the timeline.
CITY_QUERIES = 9


@pytest.mark.parametrize("size", [5, 50])
def test_a_city_profile_costs_the_same_queries_whatever_the_data_size(
    client, cast, city_a, foreign_city, size, django_assert_num_queries
):
    world = World(today=timezone.localdate())
    for number in range(size):
        make_engagement(
            world,
            cast["admin"],
            city_a,
            visibility="public",
            start=dt.date(2025, 1, 1) + dt.timedelta(days=9 * number),
            counterparts=[foreign_city],
            topics=["climate"],
        )
        factories.AgreementFactory(city=city_a, visibility="public")
        factories.MembershipFactory(city=city_a)
    with django_assert_num_queries(CITY_QUERIES):
        response = client.get(reverse("city-profile", args=[city_a.slug]))
    assert response.status_code == 200


# The portal's queries, named: the engagement count and page; the agreement count and page; the
# counterpart countries; the number of cities.
PORTAL_QUERIES = 6


@pytest.mark.parametrize("size", [5, 50])
def test_the_portal_costs_the_same_queries_whatever_the_data_size(
    client, cast, city_a, foreign_city, size, django_assert_num_queries
):
    world = World(today=timezone.localdate())
    for number in range(size):
        make_engagement(
            world,
            cast["admin"],
            city_a,
            visibility="public",
            start=dt.date(2025, 1, 1) + dt.timedelta(days=9 * number),
            counterparts=[foreign_city],
            topics=["climate"],
        )
        factories.AgreementFactory(city=city_a, visibility="public")
    with django_assert_num_queries(PORTAL_QUERIES):
        response = client.get(reverse("home"))
    assert response.status_code == 200


# The network page's queries, named: the network with its headquarters; its members with their
# cities; the member cities per country; the cities per year joined.
NETWORK_QUERIES = 4


@pytest.mark.parametrize("size", [5, 50])
def test_a_network_page_costs_the_same_queries_whatever_its_size(client, db, size, django_assert_num_queries):
    network = factories.NetworkFactory(slug="iclei")
    for _ in range(size):
        factories.MembershipFactory(network=network, joined_on=dt.date(2015, 6, 1))
    with django_assert_num_queries(NETWORK_QUERIES):
        response = client.get(reverse("network-detail", args=["iclei"]))
    assert response.status_code == 200
