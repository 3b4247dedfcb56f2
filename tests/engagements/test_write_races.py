"""Two writers racing for the same unique key: the one who loses gets a field error, never a
server error, and nothing half-written stays behind."""

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from engagements.models import Agreement
from engagements.services import save_agreement

pytestmark = pytest.mark.django_db


def agreement_data(city, **overrides):
    return {
        "city": city,
        "title": "Friendship with Nagoya",
        "kind": "friendship_city",
        "status": "active",
        "signed_on": dt.date(2020, 1, 1),
        "external_id": "la-2020-01",
        **overrides,
    }


def test_a_duplicate_key_written_after_the_check_is_a_field_error(staff_a, city_a):
    save_agreement(actor=staff_a, data=agreement_data(city_a))
    # The other writer's row lands between this writer's check and its insert: the check passes.
    with mock.patch.object(Agreement, "full_clean", autospec=True), pytest.raises(ValidationError) as error:
        save_agreement(actor=staff_a, data=agreement_data(city_a, title="The same file, imported twice"))
    assert "external" in str(error.value).lower() or "already exists" in str(error.value)
    assert Agreement.objects.count() == 1
    assert Agreement.history.count() == 1


def test_the_api_answers_400_for_it(staff_a, city_a):
    from rest_framework.test import APIClient

    save_agreement(actor=staff_a, data=agreement_data(city_a))
    client = APIClient()
    client.force_authenticate(staff_a)
    with mock.patch.object(Agreement, "full_clean", autospec=True):
        response = client.post(
            "/api/v1/agreements/",
            {
                "city": city_a.pk,
                "title": "Again",
                "kind": "friendship_city",
                "status": "active",
                "visibility": "internal",
                "external_id": "la-2020-01",
            },
            format="json",
        )
    assert response.status_code == 400, response.content
    assert Agreement.objects.count() == 1
