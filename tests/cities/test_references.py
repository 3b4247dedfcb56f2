"""City references as SPEC §6 defines them."""

import pytest

from cities.references import AmbiguousCity, CityResolver, UnknownCity
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolver():
    return CityResolver()


def test_name_with_subdivision_and_geonames_id_resolve(resolver, city_a):
    assert resolver.resolve("Los Angeles, US-CA") == city_a
    assert resolver.resolve("los angeles, us-ca") == city_a
    assert resolver.resolve(str(city_a.geonames_id)) == city_a


def test_accents_and_ascii_spellings_match():
    sao_paulo = factories.CityFactory(name="São Paulo", country=factories.country("BR"), subdivision="")
    zurich = factories.CityFactory(name="Zürich", country=factories.country("CH"), subdivision="")
    resolver = CityResolver()
    assert resolver.resolve("Sao Paulo, BR") == sao_paulo
    assert resolver.resolve("ZÜRICH, CH") == zurich


def test_alternate_names_are_used_only_when_no_name_matches():
    beijing = factories.CityFactory(
        name="Beijing", country=factories.country("CN"), subdivision="", alternate_names="|peking|北京|"
    )
    assert CityResolver().resolve("Peking, CN") == beijing
    assert CityResolver().resolve("北京, CN") == beijing


def test_a_city_ten_times_larger_wins(resolver):
    big = factories.CityFactory(name="Shenzhen", country=factories.country("CN"), subdivision="", population=17_000_000)
    factories.CityFactory(name="Shenzhen", country=factories.country("CN"), subdivision="", population=5_000)
    assert resolver.resolve("Shenzhen, CN") == big


def test_comparable_cities_are_ambiguous_and_named_with_their_states(resolver):
    missouri = factories.CityFactory(name="Springfield", subdivision="US-MO", population=169_000)
    illinois = factories.CityFactory(name="Springfield", subdivision="US-IL", population=114_000)
    with pytest.raises(AmbiguousCity) as error:
        resolver.resolve("Springfield, US")
    message = str(error.value)
    assert "US-MO" in message and "US-IL" in message
    assert str(missouri.geonames_id) in message and str(illinois.geonames_id) in message
    assert resolver.resolve("Springfield, US-IL") == illinois


@pytest.mark.parametrize("reference", ["", "Atlantis, US", "Berlin", "Berlin, Germany", "12345678901"])
def test_unknown_or_malformed_references_raise(resolver, reference):
    with pytest.raises(UnknownCity):
        resolver.resolve(reference)


def test_namibia_is_a_country_not_a_missing_value(resolver):
    windhoek = factories.CityFactory(name="Windhoek", country=factories.country("NA"), subdivision="")
    assert resolver.resolve("Windhoek, NA") == windhoek


def test_several_references_separated_by_semicolons(resolver, city_a, foreign_city):
    assert resolver.resolve_many("Los Angeles, US-CA; Nagoya, JP ;") == [city_a, foreign_city]


def test_type_ahead_ranks_by_population(city_a):
    small = factories.CityFactory(name="Los Alamos", population=13_000)
    from cities.models import City

    assert list(City.objects.search("los a")) == [city_a, small]
    assert list(City.objects.search("   ")) == []
