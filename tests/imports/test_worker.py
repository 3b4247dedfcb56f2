"""Imports on a real Celery worker (Redis broker, PostgreSQL): the upload's path end to end, and a
worker SIGKILLed in the middle of a 100,000-row file losing nothing and duplicating nothing."""

import pytest
from django.core.files import File
from django.urls import reverse
from rest_framework.test import APIClient

from benchmarks.import_bench import write_engagements_csv
from engagements.models import Engagement
from imports.models import ImportJob
from imports.services import create_job
from imports.tasks import resume_stalled_imports
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

ROWS = 100_000


def _finished(job_id):
    job = ImportJob.objects.get(pk=job_id)
    return job if job.is_finished else None


def test_an_upload_through_the_api_is_run_by_the_worker(live_worker, city_a, foreign_city, staff_a, tmp_path):
    factories.topic("climate")
    source = tmp_path / "two.csv"
    source.write_text(
        "external_id,city,title,kind,status,start_date,counterpart_cities,topics\n"
        'W-1,"Los Angeles, US-CA",Nagoya visit,inbound_delegation,completed,2024-03-01,"Nagoya, JP",climate\n'
        'W-2,"Los Angeles, US-CA",Bad date,inbound_delegation,completed,2024-31-01,,\n',
        encoding="utf-8",
    )
    client = APIClient()
    client.force_authenticate(staff_a)
    with source.open("rb") as handle:
        answer = client.post(reverse("api:import-list"), {"file": handle, "kind": "engagements"}, format="multipart")
    assert answer.status_code == 201, answer.content

    job = live_worker.wait_until(lambda: _finished(answer.json()["id"]), timeout=60, what="the import to finish")

    assert (job.status, job.created, job.error_count, job.attempts) == ("succeeded", 1, 1, 1)
    assert Engagement.objects.get(external_id="W-1").counterpart_cities.get() == foreign_city
    detail = client.get(reverse("api:import-detail", args=[job.pk])).json()
    assert detail["errors"] == [
        {
            "row": 3,
            "column": "start_date",
            "value": "2024-31-01",
            "message": "“2024-31-01” is not a date in ISO 8601 form (YYYY-MM-DD).",
        }
    ]


def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(
    live_worker, city_a, foreign_city, admin_user, tmp_path
):
    for slug in ("climate", "trade-investment", "public-health", "culture-education", "technology-innovation"):
        factories.topic(slug)
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="", population=3_600_000)
    source = write_engagements_csv(
        tmp_path / "big.csv", ROWS, city="Los Angeles, US-CA", counterparts=["Nagoya, JP", "Berlin, DE"], prefix="K"
    )
    with source.open("rb") as handle:
        job = create_job(owner=admin_user, upload=File(handle, name="big.csv"), kind="engagements")

    # Let the first worker commit a few chunks, then kill it (and its pool child) mid-chunk.
    live_worker.wait_until(
        lambda: ImportJob.objects.get(pk=job.pk).processed_rows >= 5_000, timeout=300, what="5,000 rows to commit"
    )
    live_worker.kill()
    stopped = ImportJob.objects.get(pk=job.pk)
    assert stopped.status == "running" and 0 < stopped.processed_rows < ROWS
    assert Engagement.objects.count() == stopped.processed_rows, "rows of the chunk being written when killed stayed"

    live_worker.start()
    resume_stalled_imports.delay(stale_after_seconds=0)
    job = live_worker.wait_until(lambda: _finished(job.pk), timeout=900, what="the resumed import to finish")

    assert job.status == "succeeded", job.message
    assert job.attempts == 2
    assert (job.total_rows, job.processed_rows, job.created, job.updated, job.unchanged, job.error_count) == (
        ROWS,
        ROWS,
        ROWS,
        0,
        0,
        0,
    )
    engagements = Engagement.objects.filter(city=city_a)
    assert engagements.count() == ROWS
    assert engagements.values("external_id").distinct().count() == ROWS
    assert Engagement.history.filter(history_type="+").count() == ROWS
    assert Engagement.topics.through.objects.count() == ROWS
    assert Engagement.counterpart_cities.through.objects.count() == ROWS
    assert set(Engagement.counterpart_countries.through.objects.values_list("country_id", flat=True)) == {"JP", "DE"}
    assert berlin.engagement_counterparts.count() + foreign_city.engagement_counterparts.count() == ROWS
