"""Issue #13: writers racing over the same records create each record once (PostgreSQL, real
threads with their own connections)."""

import threading

import pytest
from django.db import connection

from engagements.models import Engagement
from imports.services import create_job, run_job
from tests import factories
from tests.engagements.test_engagement_pages import form_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEADER = "city,title,kind,status,start_date,visibility"


def _in_threads(count, work):
    """Run `work(index)` in `count` threads released at once; each closes its connection."""
    barrier = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return results


def test_two_imports_of_the_same_natural_keys_at_once_create_each_record_once(tmp_path, staff_a, city_a):
    from django.core.files import File

    rows = [
        f'"Los Angeles, US-CA",Meeting {n},bilateral_meeting,planned,2025-01-{n % 28 + 1:02d},internal'
        for n in range(40)
    ]
    jobs = []
    for name, ordered in (("first.csv", rows), ("second.csv", rows[::-1])):
        path = tmp_path / name
        path.write_text("\n".join([HEADER, *ordered]) + "\n", encoding="utf-8")
        with path.open("rb") as handle:
            jobs.append(create_job(owner=staff_a, upload=File(handle, name=name), kind="engagements", enqueue=False))

    finished = _in_threads(2, lambda index: run_job(jobs[index].pk))

    assert [job.status for job in finished] == ["succeeded", "succeeded"]
    assert Engagement.objects.count() == 40
    assert sorted(job.created for job in finished) != [40, 40]
    assert sum(job.created for job in finished) == 40


def test_identical_concurrent_form_submissions_create_one_engagement(client, staff_a, city_a):
    from django.test import Client

    client.force_login(staff_a)
    page = client.get("/engagements/new/")
    token = page.context["form"]["submission"].value()
    data = form_data(city_a, title="Sent three times", submission=token)
    session_cookie = client.cookies["sessionid"].value

    def submit(_index):
        browser = Client()
        browser.cookies["sessionid"] = session_cookie
        return browser.post("/engagements/new/", data)

    responses = _in_threads(3, submit)

    assert Engagement.objects.filter(title="Sent three times").count() == 1
    engagement = Engagement.objects.get(title="Sent three times")
    assert all(response.status_code == 302 for response in responses), [r.status_code for r in responses]
    assert {response["Location"] for response in responses} == {f"/engagements/{engagement.pk}/"}


def test_a_token_used_once_redirects_a_repeat_to_the_first_record(client, staff_a, city_a):
    client.force_login(staff_a)
    token = client.get("/engagements/new/").context["form"]["submission"].value()
    data = form_data(city_a, title="Double click", submission=token)
    first, second = client.post("/engagements/new/", data), client.post("/engagements/new/", data)
    engagement = Engagement.objects.get(title="Double click")
    assert first["Location"] == second["Location"] == f"/engagements/{engagement.pk}/"
    assert "already" in " ".join(str(m) for m in second.wsgi_request._messages)
    factories  # noqa: B018 - the cast fixtures come from tests/conftest.py
