"""The small world every import test reads files against.

Los Angeles is staff_a's home city and Chicago staff_b's; the two Springfields are close enough
in population to make `Springfield, US` ambiguous.
"""

import pytest

from tests import factories
from tests.celery_worker import live_worker  # noqa: F401  (the real-worker fixture, for test_worker.py)


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(city_a, city_b, foreign_city, staff_a, staff_b, admin_user, liaison):
    for slug in ("climate", "trade-investment", "culture-education", "other"):
        factories.topic(slug)
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="", population=3_600_000)
    windhoek = factories.CityFactory(
        name="Windhoek", country=factories.country("NA"), subdivision="", population=268_000
    )
    factories.CityFactory(name="Springfield", subdivision="US-IL", population=114_000, geonames_id=4250542)
    factories.CityFactory(name="Springfield", subdivision="US-MA", population=155_000, geonames_id=4951788)
    factories.NetworkFactory(slug="c40", name="C40 Cities Climate Leadership Group", acronym="C40")
    factories.NetworkFactory(slug="iclei", name="ICLEI – Local Governments for Sustainability", acronym="ICLEI")
    factories.OrganizationFactory(name="Goethe-Institut", kind="ngo", country=factories.country("DE"))
    return {
        "staff_a": staff_a,
        "staff_b": staff_b,
        "admin": admin_user,
        "liaison": liaison,
        "los_angeles": city_a,
        "chicago": city_b,
        "nagoya": foreign_city,
        "berlin": berlin,
        "windhoek": windhoek,
    }
