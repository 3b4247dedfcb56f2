"""`notifications/` for the whole cast: each principal reaches their own notifications only;
everyone else's answer 404; anonymous callers 401 (SPEC §4)."""

import pytest
from rest_framework.test import APIClient

from notifications.models import Kind, Notification

SIGNED_IN = ["partner", "staff_a", "staff_b", "liaison", "admin"]


@pytest.fixture
def notes(cast):
    return {
        name: Notification.objects.create(
            recipient=cast[name], kind=Kind.WEEKLY_DIGEST, object_key="digest", period="2026-W01", title=f"For {name}"
        )
        for name in SIGNED_IN
    }


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("principal", ["anonymous", *SIGNED_IN])
def test_list_returns_only_the_callers_own(cast, notes, principal):
    response = client_for(cast[principal]).get("/api/v1/notifications/")

    if principal == "anonymous":
        assert response.status_code == 401
        return
    assert [item["title"] for item in response.json()["results"]] == [f"For {principal}"]


@pytest.mark.parametrize("principal", ["anonymous", *SIGNED_IN])
@pytest.mark.parametrize("owner", SIGNED_IN)
def test_retrieve_and_mark_read(cast, notes, principal, owner):
    client = client_for(cast[principal])
    note = notes[owner]

    got = client.get(f"/api/v1/notifications/{note.pk}/")
    read = client.post(f"/api/v1/notifications/{note.pk}/read/")

    expected = 401 if principal == "anonymous" else 200 if principal == owner else 404
    assert (got.status_code, read.status_code) == (expected, expected)
    note.refresh_from_db()
    assert note.is_read == (principal == owner)


def test_the_schema_describes_the_read_action(client):
    schema = client.get("/api/v1/schema/").content.decode()

    assert "/api/v1/notifications/{id}/read/" in schema
