"""Records downloaded in the import format and imported into a database without them come back
identical; importing the download again changes nothing.

The API's `?format=csv` export names cities by their database ids (and lists serializer fields
such as `kind_display`), so it is not an import file; the import-format download at
`/imports/export/<kind>.csv` is the file that round-trips."""

import datetime as dt

import pytest
from django.urls import reverse

from cities.models import Organization
from engagements.models import Agreement, Engagement
from engagements.services import save_agreement, save_engagement
from engagements.write_path import write_path
from tests import factories

from .helpers import import_text

pytestmark = pytest.mark.django_db


def _engagements(world):
    topics = {slug: factories.topic(slug) for slug in ("climate", "culture-education", "trade-investment")}
    sao_paulo = factories.CityFactory(
        name="São Paulo", country=factories.country("BR"), subdivision="", population=12_000_000
    )
    zurich = factories.CityFactory(name="Zürich", country=factories.country("CH"), subdivision="", population=400_000)
    beijing = factories.CityFactory(name="北京", country=factories.country("CN"), subdivision="", population=20_000_000)
    goethe = Organization.objects.get(name="Goethe-Institut")
    actor, home = world["staff_a"], world["los_angeles"]
    save_engagement(
        actor=actor,
        data={
            "city": home,
            "title": "Kraków–Zürich climate forum",
            "kind": "conference",
            "status": "completed",
            "start_date": dt.date(2024, 3, 1),
            "end_date": dt.date(2024, 3, 3),
            "location_city": zurich,
            "venue": "Kongresshaus, Saal 1",
            "counterpart_cities": [zurich, sao_paulo, world["windhoek"]],
            "counterpart_organizations": [goethe],
            "topics": [topics["climate"], topics["trade-investment"]],
            "visibility": "public",
            "federal_coordination_requested": True,
            "external_id": "RT-1",
            "summary": 'Line one, with "quotes"\nline two; ok',
            "outcomes": "=1+1 is not a formula here",
            "named_countries": [factories.country("RU")],
        },
    )
    save_engagement(
        actor=actor,
        data={
            "city": home,
            "title": "北京 delegation",
            "kind": "inbound_delegation",
            "status": "planned",
            "start_date": dt.date(2025, 1, 10),
            "counterpart_cities": [beijing],
            "visibility": "restricted",
        },
    )
    save_agreement(
        actor=actor,
        data={
            "city": home,
            "title": "Sister cities with Nagoya",
            "kind": "sister_city",
            "status": "active",
            "signed_on": dt.date(1959, 4, 1),
            "counterpart_cities": [world["nagoya"]],
            "topics": [topics["culture-education"]],
            "external_id": "SC-NAGOYA",
            "url": "https://example.org/nagoya",
        },
    )


def _snapshot(model):
    fields = [
        f.attname
        for f in model._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at", "version", "created_by_id")
    ]
    records = {}
    for record in model.objects.order_by("title"):
        records[record.title] = (
            {name: getattr(record, name) for name in fields},
            sorted(record.counterpart_cities.values_list("pk", flat=True)),
            sorted(record.counterpart_organizations.values_list("pk", flat=True)),
            sorted(record.counterpart_countries.values_list("iso2", flat=True)),
            sorted(record.topics.values_list("slug", flat=True)),
        )
    return records


@pytest.mark.parametrize("kind, model", [("engagements", Engagement), ("agreements", Agreement)])
def test_download_then_import_into_an_empty_database_gives_identical_records(world, client, tmp_path, kind, model):
    _engagements(world)
    before = _snapshot(model)
    client.force_login(world["staff_a"])
    download = b"".join(client.get(reverse("imports:export-csv", args=[kind])).streaming_content).decode("utf-8")

    with write_path():
        model.objects.all().delete()
    job = import_text(tmp_path, f"{kind}.csv", download, owner=world["staff_a"], kind=kind)

    assert (job.status, job.created, job.error_count) == ("succeeded", len(before), 0)
    assert _snapshot(model) == before
    again = import_text(tmp_path, f"{kind}.csv", download, owner=world["staff_a"], kind=kind)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(before))


def test_the_download_guards_formula_cells(world, client):
    _engagements(world)
    client.force_login(world["staff_a"])
    download = b"".join(client.get(reverse("imports:export-csv", args=["engagements"])).streaming_content).decode()
    assert "'=1+1 is not a formula here" in download


def test_staff_download_only_their_home_cities_records(world, client):
    _engagements(world)
    factories.EngagementFactory(city=world["chicago"], title="Chicago's own", visibility="public")
    client.force_login(world["staff_a"])
    download = b"".join(client.get(reverse("imports:export-csv", args=["engagements"])).streaming_content).decode()
    assert "Kraków" in download and "Chicago's own" not in download
