import datetime as dt

import pytest

from cities.models import Country
from compliance.reference import load_rules
from tests import factories

COUNTRIES = {
    "CN": "China",
    "TW": "Taiwan",
    "RU": "Russia",
    "IR": "Iran",
    "KP": "North Korea",
    "JP": "Japan",
    "CU": "Cuba",
    "VE": "Venezuela",
    "SY": "Syria",
    "BY": "Belarus",
    "MM": "Myanmar",
    "DE": "Germany",
}


@pytest.fixture
def countries(db):
    return {
        iso2: Country.objects.get_or_create(iso2=iso2, defaults={"iso3": iso2 + "X", "name": name})[0]
        for iso2, name in COUNTRIES.items()
    }


@pytest.fixture
def rules(countries):
    load_rules()
    from compliance.models import ComplianceRule

    return {rule.code: rule for rule in ComplianceRule.objects.all()}


@pytest.fixture
def houston(db):
    return factories.CityFactory(name="Houston", subdivision="US-TX", population=2_300_000)


@pytest.fixture
def houston_staff(houston):
    return factories.UserFactory(username="hana", role="staff", home_cities=[houston])


@pytest.fixture
def foreign(countries):
    return {
        "Shenzhen": factories.CityFactory(name="Shenzhen", country=countries["CN"], subdivision=""),
        "Taipei": factories.CityFactory(name="Taipei", country=countries["TW"], subdivision=""),
        "Beijing": factories.CityFactory(name="Beijing", country=countries["CN"], subdivision=""),
        "Nagoya": factories.CityFactory(name="Nagoya", country=countries["JP"], subdivision=""),
    }


TODAY = dt.date(2026, 3, 2)
