"""Generated: over state × counterpart country × agreement kind × status × rule dates, the flags
every write path leaves equal those an independent oracle (written here from SPEC §8.2, not
read from compliance.services) expects."""

import datetime as dt
import itertools

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from compliance.models import ComplianceFlag, ComplianceRule
from engagements.bulk import BulkItem, save_in_bulk
from engagements.models import Agreement
from engagements.services import save_agreement
from tests import factories

STATES = ["US-TX", "US-FL", "US-AR", "US-CA"]
COUNTRIES = ["CN", "TW", "CU", "BY"]
KINDS = ["sister_city", "memorandum_of_understanding"]
STATUSES = ["active", "proposed", "terminated", "expired"]
COMBINATIONS = list(itertools.product(STATES, COUNTRIES, KINDS, STATUSES))
# The shipped rules, as the CSV states them (the oracle's own reading of the law).
LAW = {
    "TX-GOV-795": ("US-TX", {"CN", "IR", "KP", "RU"}, {"sister_city"}),
    "FL-288-860": ("US-FL", {"CN", "RU", "IR", "KP", "CU", "VE", "SY"}, set()),
    "AR-14-1-116": ("US-AR", {"BY", "MM", "CN", "CU", "IR", "KP", "SY", "VE"}, {"sister_city"}),
}


def oracle(state, country, kind, status, in_force) -> set[str]:
    if status in ("expired", "terminated"):
        return set()
    return {
        code
        for code, (jurisdiction, countries, kinds) in LAW.items()
        if code in in_force and jurisdiction == state and country in countries and (not kinds or kind in kinds)
    }


@pytest.fixture
def world(rules, countries):
    cities = {state: factories.CityFactory(name=f"Home {state}", subdivision=state) for state in STATES}
    abroad = {
        code: factories.CityFactory(name=f"Abroad {code}", country=countries[code], subdivision="")
        for code in COUNTRIES
    }
    staff = factories.UserFactory(username="owner", role="staff", home_cities=list(cities.values()))
    factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    return cities, abroad, staff


def write(path, staff, city, counterpart, kind, status, title):
    data = {"city": city, "title": title, "kind": kind, "status": status, "counterpart_cities": [counterpart]}
    if path == "service":
        save_agreement(actor=staff, data=data)
    elif path == "api":
        client = APIClient()
        client.force_authenticate(staff)
        body = {**data, "city": city.pk, "counterpart_cities": [counterpart.pk]}
        assert client.post("/api/v1/agreements/", body, format="json").status_code == 201
    elif path == "form":
        client = Client()
        client.force_login(staff)
        form = {
            "city": city.pk,
            "title": title,
            "kind": kind,
            "status": status,
            "signed_on": "",
            "effective_on": "",
            "expires_on": "",
            "renewal_due_on": "",
            "authorized_by": "",
            "counterpart_cities": [counterpart.pk],
            "counterpart_cities_query": "",
            "counterpart_organizations_query": "",
            "summary": "",
            "url": "",
            "visibility": "internal",
        }
        assert client.post("/agreements/new/", form).status_code == 302
    elif path == "admin":
        client = Client()
        client.force_login(User.objects.get(username="root"))
        form = {
            "city": city.pk,
            "title": title,
            "kind": kind,
            "status": status,
            "visibility": "internal",
            "counterpart_cities": [counterpart.pk],
            "external_id": "",
            "signed_on": "",
            "effective_on": "",
            "expires_on": "",
            "renewal_due_on": "",
            "authorized_by": "",
            "summary": "",
            "url": "",
        }
        response = client.post("/admin/engagements/agreement/add/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
    elif path == "import":
        item = BulkItem(
            record=None,
            data={"city": city, "title": title, "kind": kind, "status": status},
            relations={"counterpart_cities": [counterpart]},
        )
        assert save_in_bulk(Agreement, actor=staff, items=[item])[0].result == "created"


@pytest.mark.parametrize("path", ["service", "api", "form", "admin", "import"])
@pytest.mark.parametrize("future_rule", [None, "FL-288-860"])
def test_every_write_path_flags_what_the_oracle_expects(world, path, future_rule, django_capture_on_commit_callbacks):
    cities, abroad, staff = world
    in_force = set(LAW)
    if future_rule:
        # A rule not yet in force flags nothing (its day comes with the daily scan).
        rule = ComplianceRule.objects.get(code=future_rule)
        rule.effective_on = timezone.localdate() + dt.timedelta(days=10)
        rule.save()
        in_force.discard(future_rule)
    expected = {}
    for index, (state, country, kind, status) in enumerate(COMBINATIONS):
        title = f"{path} {index} {state} {country} {kind} {status}"
        with django_capture_on_commit_callbacks(execute=True):
            write(path, staff, cities[state], abroad[country], kind, status, title)
        expected[title] = oracle(state, country, kind, status, in_force)
    got = {title: set() for title in expected}
    for title, code in ComplianceFlag.objects.filter(status="open").values_list("agreement__title", "rule__code"):
        got[title].add(code)
    assert got == expected
    assert any(expected.values()) and not all(expected.values())
