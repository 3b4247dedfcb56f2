"""The engagement rollup stays exact whatever writes happen, and the API's totals read from it
equal a plain count of what the caller may see."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from benchmarks.scale import delete_scale_records, seed_scale
from engagements import services
from engagements.models import Engagement
from engagements.write_path import write_path
from rollups.models import EngagementCount
from tests import factories

pytestmark = pytest.mark.postgres

VISIBILITIES = ["public", "internal", "restricted"]


def rollup_counts() -> dict:
    return {(row.city_id, row.visibility): row.count for row in EngagementCount.objects.exclude(count=0)}


def plain_counts() -> dict:
    rows = Engagement.objects.values("city_id", "visibility").annotate(n=Count("*")).order_by()
    return {(row["city_id"], row["visibility"]): row["n"] for row in rows}


@pytest.fixture
def cities(city_a, city_b, foreign_city):
    return [city_a, city_b, factories.CityFactory(name="Seattle", subdivision="US-WA", population=750_000)]


def test_counts_stay_exact_through_random_service_writes(cities, admin_user):
    rng = random.Random(2026)
    records = []
    for _ in range(80):
        action = rng.choice(["create", "create", "change", "delete"]) if records else "create"
        if action == "create":
            records.append(
                services.save_engagement(
                    actor=admin_user,
                    data={
                        "city": rng.choice(cities),
                        "title": "Visit",
                        "kind": "conference",
                        "status": "planned",
                        "start_date": dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300)),
                        "visibility": rng.choice(VISIBILITIES),
                    },
                )
            )
        elif action == "change":
            record = rng.choice(records)
            services.save_engagement(
                actor=admin_user,
                engagement=record,
                data={
                    "city": rng.choice(cities),
                    "visibility": rng.choice(VISIBILITIES),
                    "title": "Changed",
                },
            )
        else:
            record = records.pop(rng.randrange(len(records)))
            services.delete_city_record(actor=admin_user, record=record)

        assert rollup_counts() == plain_counts()
    assert sum(rollup_counts().values()) == len(records) > 0


@write_path()  # the triggers must hold for writes that bypass the services too
def test_counts_stay_exact_through_bulk_and_raw_writes(cities):
    factories.EngagementFactory.create_batch(5, city=cities[0], visibility="public")
    Engagement.objects.bulk_create(
        Engagement(
            city=cities[index % 3],
            title=f"Bulk {index}",
            kind="other",
            status="planned",
            start_date=dt.date(2026, 2, 1),
            visibility=VISIBILITIES[index % 3],
        )
        for index in range(30)
    )
    assert rollup_counts() == plain_counts()

    Engagement.objects.filter(city=cities[1]).update(visibility="restricted")
    Engagement.objects.filter(visibility="public").update(city=cities[2])
    Engagement.objects.filter(title__startswith="Bulk").update(review_status="acknowledged")
    assert rollup_counts() == plain_counts()

    doomed = Engagement.objects.filter(city=cities[2])
    doomed._raw_delete(doomed.db)
    assert rollup_counts() == plain_counts()


def test_counts_include_rows_loaded_with_copy(cities):
    seed_scale(engagements=500, agreements=20, seed=4)
    assert rollup_counts() == plain_counts()
    assert sum(rollup_counts().values()) == 500

    delete_scale_records()
    assert rollup_counts() == plain_counts() == {}


def api_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
    return client


@pytest.fixture
def mixed_engagements(cities):
    rng = random.Random(7)
    for _ in range(120):
        factories.EngagementFactory(
            city=rng.choice(cities), visibility=rng.choice(VISIBILITIES), kind=rng.choice(["conference", "other"])
        )


@pytest.mark.parametrize("who", ["staff_a", "staff_b", "liaison", "partner", "admin"])
@pytest.mark.parametrize(
    "query",
    [
        "",
        "city={a}",
        "state=US-IL",
        "state=us-wa",
        "visibility=restricted",
        "city={a}&visibility=public",
        "kind=conference",
        "city={a}&kind=other",
    ],
)
def test_the_list_total_is_the_number_of_engagements_the_caller_sees(cast, who, query, mixed_engagements, city_a):
    user = cast[who]
    query = query.format(a=city_a.pk)

    body = api_client(user).get(f"/api/v1/engagements/?page_size=5&{query}").json()

    filters = dict(pair.split("=") for pair in query.split("&") if pair)
    expected = Engagement.objects.visible_to(user)
    if "city" in filters:
        expected = expected.filter(city_id=filters["city"])
    if "state" in filters:
        expected = expected.filter(city__subdivision=filters["state"].upper())
    for name in ("visibility", "kind"):
        if name in filters:
            expected = expected.filter(**{name: filters[name]})
    assert body["count"] == expected.count()
    assert len(body["results"]) == min(5, body["count"])


def test_an_unfiltered_list_reads_its_total_from_the_rollup_not_the_table(liaison, mixed_engagements):
    client = api_client(liaison)

    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/engagements/?page=2&page_size=50").json()

    sql = [query["sql"] for query in queries]
    assert not [statement for statement in sql if statement.startswith("SELECT COUNT(*)")]
    assert any("rollups_engagementcount" in statement for statement in sql)
    assert (body["count"], len(body["results"]), body["next"] is not None) == (120, 50, True)
