"""The engagement list reads its pages as plain rows (engagements/api/listing.py); every row must
be exactly what the serializer gives for that record to that caller, and every filter must still
narrow the list as before."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests import factories

LIST = "/api/v1/engagements/"


@pytest.fixture
def records(city_a, city_b, foreign_city):
    """Engagements of city A with every relation filled in some and empty in others, and
    agreements some callers may not see."""
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    for code in ("BR", "CH", "DE", "JP"):
        factories.country(code)
    small_town = factories.CityFactory(
        name="Aachen", country=factories.country("DE"), subdivision="", population=250_000
    )
    organization = factories.OrganizationFactory(city=foreign_city, name="Chubu Economic Federation")
    other_organization = factories.OrganizationFactory(city=small_town, name="Aachen Chamber")
    restricted_agreement = factories.AgreementFactory(city=city_a, visibility="restricted", title="Sister cities")
    internal_agreement = factories.AgreementFactory(city=city_b, visibility="internal", title="Chicago memo")
    public_agreement = factories.AgreementFactory(city=city_a, visibility="public", title="Climate pact")
    agreements = [restricted_agreement, internal_agreement, public_agreement, None]
    engagements = []
    for index in range(8):
        engagement = factories.EngagementFactory(
            city=city_a if index % 4 else city_b,
            visibility=["public", "internal", "restricted", "public"][index % 4],
            agreement=agreements[index % 4],
            location_city=foreign_city if index % 2 else None,
            start_date=dt.date(2026, 3, 1) + dt.timedelta(days=index % 3),
            end_date=None if index % 3 else dt.date(2026, 3, 9),
            external_id=None if index % 2 else f"ext-{index}",
            venue="City Hall" if index % 2 else "",
        )
        if index % 2:
            engagement.topics.set([trade, climate])
            engagement.counterpart_cities.set([small_town, foreign_city])
            engagement.counterpart_organizations.set([other_organization, organization])
            engagement.named_countries.set(["CH", "BR"] if index % 3 else ["CH"])
            engagement.counterpart_countries.set(["JP", "DE", "CH", "BR"] if index % 3 else ["JP", "DE", "CH"])
            engagement.participants.create(name="Kenji Sato", title="Vice mayor", side="counterpart")
            engagement.participants.create(name="Ana Ruiz", organization="Mayor's office", side="home")
            engagement.participants.create(name="Bea Kim", side="home")
        engagements.append(engagement)
    return engagements


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("principal", ["partner", "staff_a", "staff_b", "liaison", "admin"])
def test_every_row_is_what_the_serializer_gives_that_caller(cast, records, principal):
    client = client_for(cast[principal])
    response = client.get(LIST, {"page_size": 500})
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert rows, "the caller should see some engagements"
    with_relations = [row for row in rows if row["counterpart_cities"] and row["topics"]]
    assert with_relations, "no row with relations to compare"
    with_people = [row for row in rows if row["participants"]]
    # People's data is for internal readers only (SPEC §2), on the list as on the detail.
    assert bool(with_people) == (principal != "partner")
    for row in rows:
        detail = client.get(f"{LIST}{row['id']}/")
        assert detail.status_code == 200
        assert row == detail.json()
        assert list(row) == list(detail.json()), "fields in the serializer's order"


def test_agreements_the_caller_may_not_see_leave_no_trace(cast, records):
    hidden = {row["id"]: row for row in client_for(cast["partner"]).get(LIST, {"page_size": 500}).json()["results"]}
    for engagement in records:
        if engagement.id in hidden and engagement.agreement and engagement.agreement.visibility != "public":
            assert hidden[engagement.id]["agreement"] is None
            assert hidden[engagement.id]["agreement_title"] is None
    seen = client_for(cast["staff_a"]).get(LIST, {"page_size": 500}).json()["results"]
    titles = {row["agreement_title"] for row in seen}
    assert "Sister cities" in titles  # restricted, city A's own
    assert "Chicago memo" in titles  # internal: staff read internal records everywhere
    of_staff_b = client_for(cast["staff_b"]).get(LIST, {"page_size": 500}).json()["results"]
    assert "Sister cities" not in {row["agreement_title"] for row in of_staff_b}


def test_related_ids_come_in_the_related_models_order_and_keys_in_their_own(cast, records, foreign_city):
    """Cities by population, participants counterpart side first; topics and countries, listed by
    their keys, in the keys' order."""
    row = next(
        row
        for row in client_for(cast["liaison"]).get(LIST, {"page_size": 500}).json()["results"]
        if row["topics"] and len(row["named_countries"]) == 2
    )
    assert row["topics"] == ["climate", "trade-investment"]
    # By code; by name (Brazil, Germany, Japan, Switzerland) CH would come last.
    assert row["counterpart_countries"] == ["BR", "CH", "DE", "JP"]
    assert row["named_countries"] == ["BR", "CH"]
    assert row["counterpart_cities"] == [foreign_city.id, records[1].counterpart_cities.get(name="Aachen").id]
    assert [person["name"] for person in row["participants"]] == ["Kenji Sato", "Ana Ruiz", "Bea Kim"]


def test_pages_of_any_size_add_up_to_the_whole_list(cast, records):
    client = client_for(cast["liaison"])
    whole = client.get(LIST, {"page_size": 500}).json()["results"]
    pieces = []
    for page in (1, 2, 3):
        body = client.get(LIST, {"page_size": 3, "page": page}).json()
        pieces += body["results"]
    assert len(whole) == 8
    assert [len(piece) for piece in (pieces[:3], pieces[3:6], pieces[6:])] == [3, 3, 2]
    assert pieces == whole


def test_filters_still_narrow_the_list(cast, records):
    client = client_for(cast["liaison"])
    climate = client.get(LIST, {"topic": "climate", "page_size": 500}).json()
    assert climate["count"] == 4
    assert all("climate" in row["topics"] for row in climate["results"])
    brazil = {engagement.id for engagement in records if engagement.counterpart_countries.filter(iso2="BR").exists()}
    assert len(brazil) == 3
    found = client.get(LIST, {"counterpart_country": "BR", "page_size": 500}).json()["results"]
    assert {row["id"] for row in found} == brazil
    bad = client.get(LIST, {"start_after": "not a date"})
    assert bad.status_code == 400
    assert "start_after" in bad.json()


def test_a_page_costs_the_same_queries_at_every_size(cast, records):
    client = client_for(cast["staff_a"])
    client.get(LIST)
    counts = []
    for size in (1, 3, 500):
        for ordering in ({}, {"ordering": "title"}):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(LIST, {"page_size": size, **ordering}).status_code == 200
            counts.append(len(queries))
    # On PostgreSQL the count, the page's ids, then one prepared statement writing the page's
    # JSON, relations and all (engagements/api/pgjson.py), the three in one statement for an
    # unfiltered first page; elsewhere the count, the page, and five relations with the
    # participants and the compliance flags, one query each.
    expected = [1, 3] if connection.vendor == "postgresql" else [9, 9]
    assert counts == expected * 3
