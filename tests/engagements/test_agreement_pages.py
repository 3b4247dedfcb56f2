"""Agreement pages: create, edit, stale edit, list and export, and who may open what."""

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse

from engagements.models import Agreement
from engagements.services import save_agreement
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def form_data(owner, **overrides):
    data = {
        "city": owner.pk,
        "title": "Sister cities Los Angeles–Nagoya",
        "kind": "sister_city",
        "status": "active",
        "signed_on": "1959-12-01",
        "effective_on": "",
        "expires_on": "",
        "counterpart_cities_query": "",
        "counterpart_organizations_query": "",
        "summary": "",
        "url": "",
        "visibility": "public",
    }
    data.update(overrides)
    return data


@pytest.fixture
def own_agreement(staff_a, city_a, foreign_city):
    return save_agreement(
        actor=staff_a,
        data={
            "city": city_a,
            "title": "Friendship with Nagoya",
            "kind": "friendship_city",
            "status": "active",
            "counterpart_cities": [foreign_city],
            "signed_on": dt.date(2020, 1, 1),
        },
    )


def test_staff_create_an_agreement_with_a_counterpart_city(staff_a, city_a, foreign_city):
    response = client_for(staff_a).post(
        reverse("agreement-create"),
        form_data(city_a, counterpart_cities=[str(foreign_city.pk)], topics=["culture-education"]),
    )
    assert response.status_code == 302
    agreement = Agreement.objects.get()
    assert response["Location"] == reverse("agreement-detail", args=[agreement.pk])
    assert agreement.visibility == "public" and agreement.city == city_a
    assert list(agreement.counterpart_countries.values_list("iso2", flat=True)) == ["JP"]


def test_an_agreement_cannot_expire_before_it_is_signed(staff_a, city_a):
    response = client_for(staff_a).post(
        reverse("agreement-create"), form_data(city_a, signed_on="2026-01-01", expires_on="2025-01-01")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["expires_on"] == ["An agreement cannot expire before it is signed."]
    assert 'value="2025-01-01"' in response.content.decode()
    assert not Agreement.objects.exists()


def test_a_stale_agreement_edit_shows_both_versions(staff_a, city_a, own_agreement):
    save_agreement(actor=staff_a, agreement=own_agreement, data={"status": "suspended"})
    response = client_for(staff_a).post(
        reverse("agreement-edit", args=[own_agreement.pk]),
        form_data(
            city_a,
            title="Friendship with Nagoya",
            kind="friendship_city",
            status="active",
            signed_on="2020-01-01",
            visibility="internal",
            counterpart_cities=[],
            version="1",
        ),
    )
    assert response.status_code == 200
    changes = {c["field"]: (c["theirs"], c["yours"]) for c in response.context["conflict"]["changes"]}
    assert changes["status"] == ("Suspended", "Active")
    own_agreement.refresh_from_db()
    assert own_agreement.status == "suspended"


def test_agreement_pages_follow_the_policy(cast, own_agreement):
    detail = reverse("agreement-detail", args=[own_agreement.pk])
    edit = reverse("agreement-edit", args=[own_agreement.pk])
    expected = {
        "staff_a": (200, 200),
        "staff_b": (200, 403),
        "liaison": (200, 403),
        "partner": (404, 404),
        "admin": (200, 200),
    }
    for who, (detail_status, edit_status) in expected.items():
        client = client_for(cast[who])
        assert client.get(detail).status_code == detail_status, who
        assert client.get(edit).status_code == edit_status, who
    assert Client().get(detail).status_code == 302


def test_a_restricted_agreement_of_another_city_is_hidden(staff_b, own_agreement, staff_a):
    save_agreement(actor=staff_a, agreement=own_agreement, data={"visibility": "restricted"})
    client = client_for(staff_b)
    assert client.get(reverse("agreement-detail", args=[own_agreement.pk])).status_code == 404
    assert client.post(reverse("agreement-edit", args=[own_agreement.pk]), {}).status_code == 404
    assert client.get(reverse("agreement-list")).context["count"] == 0


def test_agreement_list_filters_by_expiry_and_exports_the_same_rows(staff_a, city_a):
    factories.AgreementFactory(
        city=city_a, title="Soon", signed_on=dt.date(2020, 1, 1), expires_on=dt.date(2026, 12, 1)
    )
    factories.AgreementFactory(
        city=city_a, title="Later", signed_on=dt.date(2020, 1, 1), expires_on=dt.date(2030, 1, 1)
    )
    client = client_for(staff_a)
    params = {"expires_before": "2027-01-01"}
    page = client.get(reverse("agreement-list"), params)
    assert [a.title for a in page.context["page"].object_list] == ["Soon"]
    export = client.get(reverse("agreement-list"), {**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [row["title"] for row in rows] == ["Soon"]


def test_admin_logs_an_agreement_for_any_city_by_typing_it(admin_user, city_b):
    response = client_for(admin_user).post(
        reverse("agreement-create"), form_data(city_b, city="", city_query="Chicago, US-IL")
    )
    assert response.status_code == 302
    assert Agreement.objects.get().city == city_b
