"""The one city matcher (SPEC §8.1): the type-ahead, the cities API's `q` and import references
find a city by its name, ASCII name or alternate names in any script, at any word start,
ignoring case and accents, largest first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cities import matching
from cities.models import City, CityName, Country
from cities.reference_data import load_cities, load_countries
from cities.references import CityResolver
from cities.services import save_city
from tests import factories

pytestmark = pytest.mark.django_db

# SPEC §8.1's examples, each with the GeoNames id of the city it must put first.
EXAMPLES = {
    "Querétaro": 3991164,
    "Queretaro": 3991164,
    "quer": 3991164,
    "Munich": 2867714,
    "München": 2867714,
    "Muenchen": 2867714,
    "北京": 1816670,
    "Peking": 1816670,
    "Wroclaw": 3081368,
    "Wrocław": 3081368,
    "Zurich": 2657896,
    "ZÜRICH": 2657896,
}


def country(iso2):
    if iso2 in factories.COUNTRY_NAMES:
        return factories.country(iso2)
    return Country.objects.get_or_create(iso2=iso2, defaults={"iso3": iso2 + "X", "name": f"Country {iso2}"})[0]


@pytest.fixture
def world_cities():
    """A few cities written as GeoNames writes them, with smaller namesakes that must rank lower."""

    def city(name, iso2, population, alternates=(), **extra):
        return factories.CityFactory(
            name=name,
            country=country(iso2),
            subdivision=extra.pop("subdivision", ""),
            population=population,
            alternate_names="|" + "|".join(alternates) + "|" if alternates else "",
            **extra,
        )

    return {
        "queretaro": city("Santiago de Querétaro", "MX", 1_594_212, ["Querétaro", "Queretaro City"]),
        "munich": city("Munich", "DE", 1_505_005, ["München", "Muenchen", "Monaco di Baviera"]),
        # A smaller city whose own name holds the same word.
        "ottobrunn": city("Ottobrunn bei München", "DE", 20_000),
        "beijing": city("Beijing", "CN", 18_960_744, ["Peking", "北京", "北京市"]),
        "wroclaw": city("Wrocław", "PL", 672_545, ["Breslau"]),
        "zurich": city("Zürich", "CH", 415_367, ["Zurigo"]),
        "zurich_kreis": city("Zürich (Kreis 11)", "CH", 75_000),
        "pekin": city("Pekin", "US", 32_000, subdivision="US-IL"),
    }


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Querétaro", "queretaro"),
        ("Queretaro", "queretaro"),
        ("de quer", "queretaro"),
        ("Munich", "munich"),
        ("München", "munich"),
        ("Muenchen", "munich"),
        ("mUeNcHeN", "munich"),
        ("北京", "beijing"),
        ("Peking", "beijing"),
        ("Pek", "beijing"),
        ("Wroclaw", "wroclaw"),
        ("Zurich", "zurich"),
    ],
)
def test_each_spelling_puts_its_city_first_in_the_type_ahead_and_the_api(client, world_cities, typed, expected):
    city = world_cities[expected]
    assert matching.suggest(typed, 8)[0] == city
    client.force_login(factories.UserFactory(role="staff"))
    page = client.get("/cities/search/", {"q": typed}).content.decode()
    assert page.index(f'data-id="{city.pk}"') == page.index('data-id="')
    api_client = APIClient()
    api_client.force_authenticate(factories.UserFactory(role="partner"))
    results = api_client.get("/api/v1/cities/", {"q": typed}).json()["results"]
    assert results[0]["id"] == city.pk


def test_a_word_inside_a_name_matches_and_larger_cities_come_first(world_cities):
    found = matching.suggest("München", 8)
    assert found[:2] == [world_cities["munich"], world_cities["ottobrunn"]]
    assert matching.suggest("zur", 8)[:2] == [world_cities["zurich"], world_cities["zurich_kreis"]]


def test_only_word_starts_match(world_cities):
    assert world_cities["munich"] not in matching.suggest("unich", 8)
    assert matching.suggest("", 8) == []
    assert matching.suggest("  -- ", 8) == []


def test_a_city_with_many_keys_of_a_prefix_still_leaves_room_for_others(world_cities, monkeypatch):
    monkeypatch.setattr(matching, "SCAN", 2)
    # Munich has several keys starting with "m" (munich, munchen, muenchen, monaco...): the scan of
    # two keys holds only Munich, so the matcher groups every key instead.
    assert matching.suggest("m", 2) == [world_cities["munich"], world_cities["ottobrunn"]]


def test_references_match_whole_names_then_alternate_names(world_cities):
    resolver = CityResolver()
    assert resolver.resolve("Querétaro, MX") == world_cities["queretaro"]
    assert resolver.resolve("Muenchen, DE") == world_cities["munich"]
    assert resolver.resolve("Peking, CN") == world_cities["beijing"]
    # A reference names a whole city, not a word of it: "Zürich, CH" is not Zürich (Kreis 11).
    assert resolver.resolve("Zürich, CH") == world_cities["zurich"]
    assert resolver.resolve("Pekin, US-IL") == world_cities["pekin"]


def test_a_name_changed_through_the_service_is_found_by_its_new_name(world_cities):
    admin = factories.UserFactory(role="admin", is_superuser=True)
    save_city(actor=admin, city=City.objects.get(pk=world_cities["wroclaw"].pk), data={"name": "Vratislavia Nova"})
    assert matching.suggest("Vratislavia", 8) == [world_cities["wroclaw"]]
    assert matching.suggest("Wrocław", 8) == []
    # ... and keeps its alternate names.
    assert matching.suggest("Breslau", 8) == [world_cities["wroclaw"]]


def test_a_new_city_through_the_service_is_indexed(db):
    admin = factories.UserFactory(role="admin", is_superuser=True)
    city = save_city(actor=admin, data={"name": "Saint-Étienne", "country": country("FR"), "population": 170_000})
    assert matching.suggest("saint etienne", 8) == [city]
    assert matching.suggest("Étienne", 8) == [city]


def test_the_type_ahead_answers_in_constant_queries(client, world_cities, django_assert_max_num_queries):
    client.force_login(factories.UserFactory(role="staff"))
    client.get("/cities/search/", {"q": "m"})
    for _ in range(30):
        factories.CityFactory(name="Mannheim", country=factories.country("DE"), subdivision="", population=300_000)
    # The session, the user, the matching ids, their cities.
    with django_assert_max_num_queries(4):
        response = client.get("/cities/search/", {"q": "m"})
    assert response.content.count(b'data-id="') == 8


def test_the_shipped_gazetteer_finds_every_example_first():
    """Over every city the product ships (GeoNames, 15,000 people or more, plus the extras)."""
    load_countries()
    load_cities()
    assert City.objects.count() >= 20_000
    assert CityName.objects.filter(city__geonames_id=2867714, key="muenchen").exists()
    for typed, geonames_id in EXAMPLES.items():
        first = matching.suggest(typed, 8)[0]
        assert first.geonames_id == geonames_id, (typed, str(first))
    assert CityResolver().resolve("Querétaro, MX").geonames_id == 3991164
    # Loading again rewrites no key.
    with CaptureQueriesContext(connection) as queries:
        load_cities()
    assert not [
        q
        for q in queries
        if "cities_cityname" in q["sql"] and q["sql"].lstrip().upper().startswith(("DELETE", "COPY", "INSERT"))
    ]
