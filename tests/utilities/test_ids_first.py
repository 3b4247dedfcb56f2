"""A list page read ids first (`read_ids_first`) shows exactly the records, order and related
records a plain read of its slice shows, on every page and in every order."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import Engagement
from tests import factories
from utilities.listing import PAGE_SIZE, read_ids_first

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagements(city_a):
    counterpart = factories.CityFactory()
    records = [
        # Shared start dates, so the order's tie-break (the id) decides too.
        factories.EngagementFactory(
            city=city_a, title=f"T{(index * 7) % 11:02}", start_date=dt.date(2026, 1, 1 + index % 3)
        )
        for index in range(11)
    ]
    records[4].counterpart_cities.add(counterpart)
    return records


@pytest.mark.parametrize("ordering", [("-start_date", "-id"), ("title", "id"), ("start_date", "-id")])
@pytest.mark.parametrize("bounds", [(0, 4), (4, 8), (8, 12), (11, 15)])
def test_a_slice_read_ids_first_is_the_slice(engagements, ordering, bounds):
    rows = Engagement.objects.order_by(*ordering).select_related("city").prefetch_related("counterpart_cities")
    bottom, top = bounds
    records = read_ids_first(rows[bottom:top], rows)
    assert [record.pk for record in records] == [record.pk for record in rows[bottom:top]]
    with CaptureQueriesContext(connection) as queries:
        shown = [(record.city.name, [city.pk for city in record.counterpart_cities.all()]) for record in records]
    assert not queries, "the related records come with the page"
    assert shown == [
        (record.city.name, [city.pk for city in record.counterpart_cities.all()]) for record in rows[bottom:top]
    ]


def test_the_list_page_reads_its_ids_alone_first(client, liaison, engagements):
    client.force_login(liaison)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/engagements/?ordering=title")
    assert response.status_code == 200
    titles = re.findall(r'<a href="/engagements/\d+/">([^<]+)</a>', response.content.decode())
    assert titles == sorted(record.title for record in engagements)[:PAGE_SIZE]
    ids_reads = [
        q["sql"] for q in queries if re.match(r'SELECT "engagements_engagement"\."id" (AS "\w+" )?FROM', q["sql"])
    ]
    assert len(ids_reads) == 1
