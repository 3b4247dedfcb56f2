"""Every list endpoint costs the same number of queries for one row as for two hundred: related
records are joined or prefetched, never fetched per row."""

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from compliance import services as compliance_services
from compliance.models import ComplianceRule
from contacts.models import Contact
from diplomacy.api_urls import router
from documents.models import Document
from engagements.models import Agreement
from engagements.write_path import write_path
from imports.models import ImportJob
from notifications.models import Notification
from tests import factories

ROWS = 20
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Lists whose rows are not paginated records.
NOT_PAGINATED = {"stats-engagements"}


# Lists that answer nothing without a parameter.
REQUIRED_PARAMS = {"search": {"q": "springfield"}}


def list_basenames():
    names = []
    for _prefix, viewset, basename in router.registry:
        if hasattr(viewset, "list") and basename not in NOT_PAGINATED:
            names.append(basename)
    return names


@pytest.fixture(scope="module")
def many_records(django_db_setup, django_db_blocker):
    """Built once for the module, inside a transaction each test nests in, rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        city_a = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
        city_b = factories.CityFactory(name="Chicago", subdivision="US-IL", population=2_700_000)
        foreign_city = factories.CityFactory(name="Nagoya", country=factories.country("JP"), subdivision="")
        staff_a = factories.UserFactory(username="alice", role="staff", home_cities=[city_a])
        liaison = factories.UserFactory(username="lena", role="liaison", portfolio_all=True)
        build(staff_a, city_a, city_b, foreign_city, liaison)
        yield staff_a
        transaction.set_rollback(True)


@pytest.fixture
def staff_a(db, many_records):
    return many_records


def build(staff_a, city_a, city_b, foreign_city, liaison):
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    organization = factories.OrganizationFactory(city=foreign_city)
    agreement = factories.AgreementFactory(city=city_a, visibility="public")
    for country in ("DE", "BR", "CH", "CN"):
        factories.country(country)
    for index in range(ROWS):
        city = factories.CityFactory(name=f"Springfield {index}")
        engagement = factories.EngagementFactory(
            city=city_a,
            visibility=["public", "internal", "restricted"][index % 3],
            agreement=agreement,
            location_city=foreign_city,
            start_date=dt.date(2026, 1, 1) + dt.timedelta(days=index),
        )
        engagement.topics.set([climate, trade])
        engagement.counterpart_cities.set([foreign_city, city_b])
        engagement.counterpart_organizations.set([organization])
        engagement.counterpart_countries.set(["JP", "DE"])
        engagement.participants.create(name=f"Delegate {index}", side="counterpart")
        agreement_row = factories.AgreementFactory(city=city_a)
        agreement_row.topics.set([climate])
        agreement_row.counterpart_cities.set([foreign_city])
        factories.FollowUpFactory(engagement=engagement, assignee=staff_a)
        factories.ReviewFactory(engagement=engagement, reviewer=liaison)
        factories.OfficeFactory(city=city)
        network = factories.NetworkFactory(headquarters=foreign_city)
        network.topics.set([climate])
        factories.MembershipFactory(network=network, city=city_a)
        factories.OrganizationFactory(city=city, country=factories.country("US"))
        Notification.objects.create(recipient=staff_a, kind="review", object_key=f"n{index}", title=f"Note {index}")
        ImportJob.objects.create(
            kind="engagements",
            format="csv",
            file=f"imports/q{index}.csv",
            original_name="e.csv",
            file_size=1,
            file_sha256=f"{index:064d}",
            owner=staff_a,
        )
        Contact.objects.create(home_city=city_a, name=f"Contact {index}", city=city, created_by=staff_a)
        Document.objects.create(
            engagement=engagement,
            title=f"Minutes {index}",
            file=f"documents/q{index}.pdf",
            original_name="minutes.pdf",
            content_type="application/pdf",
            size=1,
            sha256=f"{index:064d}",
            uploaded_by=staff_a,
        )
    # Compliance flags on every engagement and agreement (two rules each): a rule list and a
    # flag list of more than one row, and a flag on every record of the other lists.
    for code in ("CA-ONE", "CA-TWO"):
        rule = ComplianceRule.objects.create(
            code=code, jurisdiction="US-CA", name=f"Rule {code}", record_kinds="agreements;engagements"
        )
        rule.countries.set(["JP", "DE"])
    with write_path():
        for agreement_row in Agreement.objects.all():
            agreement_row.counterpart_countries.set(["JP"])
    compliance_services.evaluate_everything()


def queries_for(client, path, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


@pytest.mark.parametrize("basename", list_basenames())
def test_list_query_count_does_not_grow_with_page_size(staff_a, basename):
    client = APIClient()
    client.force_authenticate(staff_a)
    path = reverse(f"api:{basename}-list")
    params = REQUIRED_PARAMS.get(basename, {})
    client.get(path, params)  # the user's home cities are read once per user object; not per page
    small, small_body = queries_for(client, path, {**params, "page_size": 1})
    large, large_body = queries_for(client, path, {**params, "page_size": 200})
    assert len(small_body["results"]) == 1
    assert len(large_body["results"]) > 1, "needs several rows to prove anything"
    assert small == large, f"{basename}: {small} queries for 1 row, {large} for {len(large_body['results'])}"
    MEASURED[basename] = large


MEASURED: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def report_query_counts():
    """Leaves the measured counts in test-artifacts/ for the record."""
    yield
    if MEASURED:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "api-list-query-counts.json").write_text(json.dumps(MEASURED, indent=2, sort_keys=True))


def test_engagement_list_queries_are_named(staff_a):
    """engagements/: 1 count, 1 page (joined city, location city, agreement), then one prefetch each
    for counterpart cities, organisations, named countries, counterpart countries, topics and
    participants, and the compliance flags with their rules. On PostgreSQL: one prepared statement
    counting, selecting and writing the whole first page as JSON (engagements/api/pgjson.py); a
    later page reads the count and the page's ids first."""
    client = APIClient()
    client.force_authenticate(staff_a)
    client.get("/api/v1/engagements/")
    count, body = queries_for(
        client, "/api/v1/engagements/", {"page_size": 200, "expand": "city,topics,counterpart_cities"}
    )
    assert body["count"] == ROWS
    assert count == (1 if connection.vendor == "postgresql" else 9)
    count, body = queries_for(client, "/api/v1/engagements/", {"page_size": 2, "page": 2, "expand": "city"})
    assert len(body["results"]) == 2
    assert count == (3 if connection.vendor == "postgresql" else 9)


def test_expand_inlines_without_queries_per_row(staff_a):
    client = APIClient()
    client.force_authenticate(staff_a)
    client.get("/api/v1/engagements/")
    expand = "city,location_city,counterpart_cities,counterpart_organizations,topics"
    one, _ = queries_for(client, "/api/v1/engagements/", {"page_size": 1, "expand": expand})
    expanded, body = queries_for(client, "/api/v1/engagements/", {"page_size": 200, "expand": expand})
    assert len(body["results"]) > 1
    assert expanded == one
    row = body["results"][0]
    assert row["city"]["name"] == "Los Angeles"
    assert {t["slug"] for t in row["topics"]} == {"climate", "trade-investment"}
    assert row["counterpart_organizations"][0]["name"].startswith("Organisation")
