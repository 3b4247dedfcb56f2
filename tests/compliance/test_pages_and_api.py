"""/compliance/ counts equal the API's for every role; flags follow their record's visibility."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from compliance import services
from compliance.models import ComplianceRule
from engagements.write_path import write_path
from tests import factories


@pytest.fixture
def flagged(cast, city_a, city_b, foreign_city):
    for letter, city in (("A", city_a), ("B", city_b)):
        rule = ComplianceRule.objects.create(
            code=f"RULE-{letter}", jurisdiction=city.subdivision, name=f"Rule {letter}", record_kinds="agreements"
        )
        rule.countries.set([foreign_city.country_id])
    with write_path():
        for city in (city_a, city_b):
            for visibility in ("public", "internal", "restricted"):
                for _ in range(2):
                    agreement = factories.AgreementFactory(city=city, visibility=visibility)
                    agreement.counterpart_countries.set([foreign_city.country_id])
    services.evaluate_everything()
    return cast


def page_counts(user) -> dict[str, int]:
    client = Client()
    client.force_login(user)
    body = client.get("/compliance/").content.decode()
    return {rule: int(n) for rule, n in re.findall(r'data-rule="([^"]+)">(\d+)<', body)}


def api_counts(user) -> dict[str, int]:
    client = APIClient()
    client.force_authenticate(user)
    counts = {}
    for code in ("RULE-A", "RULE-B"):
        count = client.get("/api/v1/compliance-flags/", {"rule": code, "status": "open"}).json()["count"]
        if count:
            counts[code] = count
    return counts


@pytest.mark.parametrize("role", ["liaison", "admin_user"])
def test_the_page_counts_equal_the_api_counts(flagged, role, request):
    user = request.getfixturevalue(role)
    assert page_counts(user) == api_counts(user) == {"RULE-A": 6, "RULE-B": 6}


@pytest.mark.parametrize(
    ("role", "expected"),
    [("partner", 4), ("staff_a", 10), ("staff_b", 10), ("liaison", 12)],
)
def test_the_api_lists_only_flags_of_records_the_caller_sees(flagged, role, expected, request):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(role))
    assert client.get("/api/v1/compliance-flags/").json()["count"] == expected


@pytest.mark.parametrize("role", ["partner", "staff_a"])
def test_only_liaisons_and_admins_open_the_compliance_page(flagged, role, request):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    assert client.get("/compliance/").status_code == 403


def test_the_page_and_the_flag_list_cost_the_same_queries_at_any_size(flagged, liaison):
    client = APIClient()
    client.force_authenticate(liaison)
    page = Client()
    page.force_login(liaison)
    page.get("/compliance/")
    counts = []
    for size in (1, 12):
        with CaptureQueriesContext(connection) as api:
            client.get("/api/v1/compliance-flags/", {"page_size": size})
        counts.append(len(api))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as before:
        page.get("/compliance/")
    with write_path():
        city = ComplianceRule.objects.get(code="RULE-A")
        for _ in range(10):
            agreement = factories.AgreementFactory(city=flagged["staff_a"].home_cities.first())
            agreement.counterpart_countries.set(list(ComplianceRule.objects.get(code="RULE-A").countries.all()))
    services.evaluate_everything()
    with CaptureQueriesContext(connection) as after:
        page.get("/compliance/")
    # The base page's own (session, user, unread count), the groups' counts, the list's count
    # and one page with rule, record and city joined: the same for 12 flags as for 22.
    assert len(before) == len(after), [q["sql"][:80] for q in after.captured_queries]
    assert city


def test_a_city_staff_member_waives_a_flag_through_the_api(flagged, staff_a, staff_b):
    from compliance.models import ComplianceFlag

    flag = ComplianceFlag.objects.filter(
        agreement__city__in=staff_a.home_cities.all(), agreement__visibility="public"
    ).first()
    other = APIClient()
    other.force_authenticate(staff_b)
    assert (
        other.patch(
            f"/api/v1/compliance-flags/{flag.pk}/", {"status": "waived", "reason": "x"}, format="json"
        ).status_code
        == 403
    )
    mine = APIClient()
    mine.force_authenticate(staff_a)
    response = mine.patch(f"/api/v1/compliance-flags/{flag.pk}/", {"status": "waived", "reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = mine.patch(
        f"/api/v1/compliance-flags/{flag.pk}/", {"status": "waived", "reason": "Council vote 12-1"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "waived"
    flag.refresh_from_db()
    assert flag.decided_by == staff_a and flag.history.count() == 2
