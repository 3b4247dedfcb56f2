"""ETag and If-Match on agreements and engagements: a stale edit is refused with 412 and changes
nothing; without If-Match the last write wins."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from engagements.models import Agreement, Engagement
from tests import factories


@pytest.fixture
def client_a(staff_a):
    client = APIClient()
    client.force_authenticate(staff_a)
    return client


@pytest.fixture
def engagement(city_a):
    return factories.EngagementFactory(city=city_a, title="Trade mission to Zürich")


def test_every_read_of_one_record_carries_its_etag(client_a, engagement, city_a):
    agreement = factories.AgreementFactory(city=city_a)
    assert client_a.get(f"/api/v1/engagements/{engagement.pk}/")["ETag"] == f'"{engagement.pk}-1"'
    assert client_a.get(f"/api/v1/agreements/{agreement.pk}/")["ETag"] == f'"{agreement.pk}-1"'


def test_patch_with_current_etag_succeeds_and_returns_the_next_one(client_a, engagement):
    etag = client_a.get(f"/api/v1/engagements/{engagement.pk}/")["ETag"]
    response = client_a.patch(
        f"/api/v1/engagements/{engagement.pk}/", {"title": "Renamed"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200
    assert response["ETag"] == f'"{engagement.pk}-2"'
    assert response.json()["version"] == 2


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_stale_if_match_is_412_and_changes_nothing(client_a, engagement, city_a, method):
    stale = client_a.get(f"/api/v1/engagements/{engagement.pk}/")["ETag"]
    client_a.patch(f"/api/v1/engagements/{engagement.pk}/", {"title": "Someone else's edit"}, format="json")
    before = Engagement.objects.filter(pk=engagement.pk).values().get()
    body = {"title": "Mine", "city": city_a.pk, "kind": "other", "status": "planned", "start_date": "2026-01-01"}
    response = getattr(client_a, method)(
        f"/api/v1/engagements/{engagement.pk}/",
        body if method != "delete" else None,
        format="json",
        HTTP_IF_MATCH=stale,
    )
    assert response.status_code == 412
    assert Engagement.objects.filter(pk=engagement.pk).values().get() == before


def test_if_match_of_another_record_is_412(client_a, engagement, city_a):
    other = factories.EngagementFactory(city=city_a)
    response = client_a.patch(
        f"/api/v1/engagements/{engagement.pk}/", {"title": "x"}, format="json", HTTP_IF_MATCH=other.etag
    )
    assert response.status_code == 412


def test_writes_without_if_match_still_work(client_a, engagement):
    client_a.patch(f"/api/v1/engagements/{engagement.pk}/", {"title": "First"}, format="json")
    response = client_a.patch(f"/api/v1/engagements/{engagement.pk}/", {"title": "Second"}, format="json")
    assert response.status_code == 200
    assert Engagement.objects.get(pk=engagement.pk).title == "Second"


def test_if_match_star_matches_any_version(client_a, city_a):
    agreement = factories.AgreementFactory(city=city_a)
    response = client_a.delete(f"/api/v1/agreements/{agreement.pk}/", HTTP_IF_MATCH="*")
    assert response.status_code == 204
    assert not Agreement.objects.filter(pk=agreement.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_patches_with_the_same_if_match_exactly_one_wins(staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a, title="Original")
    etag = engagement.etag
    barrier = threading.Barrier(2)
    statuses, errors = [], []

    def patch(title):
        try:
            client = APIClient()
            client.force_authenticate(staff_a)
            barrier.wait(timeout=10)
            response = client.patch(
                f"/api/v1/engagements/{engagement.pk}/", {"title": title}, format="json", HTTP_IF_MATCH=etag
            )
            statuses.append(response.status_code)
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(title,)) for title in ("From thread one", "From thread two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert sorted(statuses) == [200, 412]
    stored = Engagement.objects.get(pk=engagement.pk)
    assert stored.version == 2
    assert stored.title in ("From thread one", "From thread two")
