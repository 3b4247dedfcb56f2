"""Shared fixtures: the cast every permission test uses, and the CI rule that nothing skips.

The cast (the same names everywhere):
- `staff_a`: staff of city A (`city_a`); `staff_b`: staff of city B (`city_b`);
- `liaison`: a federal liaison covering every state; `partner`: an API partner;
- `admin_user`: a superuser; anonymous: no user at all.
"""

import importlib
import os

import pytest
from django.db import connection

from tests import factories

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true a skipped test is a failed test: CI must prove everything."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; under CI every test must run.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def topic_taxonomy(request):
    """The topic taxonomy is installed by a migration; a transactional test's flush removes it,
    so put it back for whichever test comes next and expects it like a real database."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or "transactional_db" in request.fixturenames
    if marker is None and not transactional:
        return
    transactional = transactional or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from cities.models import Topic

    taxonomy = importlib.import_module("cities.migrations.0002_topics_and_search_index").TOPICS
    if Topic.objects.count() < len(taxonomy):
        for slug, name in taxonomy:
            Topic.objects.get_or_create(slug=slug, defaults={"name": name})


@pytest.fixture
def city_a(db):
    return factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)


@pytest.fixture
def city_b(db):
    return factories.CityFactory(name="Chicago", subdivision="US-IL", population=2_700_000)


@pytest.fixture
def foreign_city(db):
    return factories.CityFactory(name="Nagoya", country=factories.country("JP"), subdivision="", population=2_300_000)


@pytest.fixture
def staff_a(city_a):
    return factories.UserFactory(username="alice", role="staff", home_cities=[city_a])


@pytest.fixture
def staff_b(city_b):
    return factories.UserFactory(username="bob", role="staff", home_cities=[city_b])


@pytest.fixture
def liaison(db):
    return factories.UserFactory(username="lena", role="liaison", portfolio_all=True)


@pytest.fixture
def partner(db):
    return factories.UserFactory(username="pat", role="partner")


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(username="ada", role="admin", is_superuser=True, is_staff=True)


@pytest.fixture
def cast(staff_a, staff_b, liaison, partner, admin_user):
    """Every principal by name, anonymous included (None)."""
    return {
        "anonymous": None,
        "partner": partner,
        "staff_a": staff_a,
        "staff_b": staff_b,
        "liaison": liaison,
        "admin": admin_user,
    }
