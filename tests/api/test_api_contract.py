"""The API's contract beyond permissions: authentication, strict input, Unicode, CSV export,
throttling and size limits (SPEC §4)."""

import csv
import io

import pytest
from django.conf import settings
from django.core.cache import cache
from django.http import StreamingHttpResponse
from django.test import Client, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from accounts.services import issue_token
from engagements.models import Engagement
from tests import factories
from utilities.api import MAX_BODY_BYTES

NAMES = ["São Paulo", "Zürich", "北京", "Kraków"]


@pytest.fixture
def client_a(staff_a):
    client = APIClient()
    client.force_authenticate(staff_a)
    return client


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# --- authentication ---------------------------------------------------------------------------


def test_unauthenticated_calls_get_401_with_the_token_scheme(db):
    response = APIClient().get("/api/v1/engagements/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_in_the_authorization_header_signs_in(partner, city_a):
    public = factories.EngagementFactory(city=city_a, visibility="public")
    factories.EngagementFactory(city=city_a, visibility="internal")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user=partner)}")
    response = client.get("/api/v1/engagements/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [public.pk]


def test_a_revoked_or_wrong_token_is_401(partner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/engagements/").status_code == 401


def test_session_writes_need_the_csrf_token(staff_a, city_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_a)
    body = {"title": "Visit", "city": city_a.pk, "kind": "other", "status": "planned", "start_date": "2026-01-01"}
    refused = client.post("/api/v1/engagements/", body, content_type="application/json")
    assert refused.status_code == 403
    assert not Engagement.objects.exists()
    client.get("/accounts/password/change/")  # any page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/engagements/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_schema_and_docs_need_no_sign_in_and_load_nothing_from_outside(db):
    client = APIClient()
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


# --- strict input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "?colour=red",
        "?city=abc",
        "?start_after=31/12/2026",
        "?federal_coordination_requested=perhaps",
        "?ordering=secret",
        "?page=first",
        "?page_size=-1",
        "?expand=password",
        "?format=xml",
        "?q=" + "x" * 201,
        "?q=a%00b",
        "?topic=a%00b",
        "?state=US-CA%00",
    ],
)
def test_unknown_or_malformed_query_parameters_are_400(client_a, query):
    response = client_a.get("/api/v1/engagements/" + query)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"


def test_nul_bytes_in_a_body_are_400_not_500(client_a, city_a):
    body = {
        "title": "Bad\x00title",
        "city": city_a.pk,
        "kind": "other",
        "status": "planned",
        "start_date": "2026-01-01",
    }
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    assert "title" in response.json()


def test_over_long_text_is_400_naming_the_field(client_a, city_a):
    body = {
        "title": "t",
        "city": city_a.pk,
        "kind": "other",
        "status": "planned",
        "start_date": "2026-01-01",
        "summary": "s" * 20_001,
    }
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    assert "summary" in response.json()


def test_fields_the_caller_may_not_set_are_refused_not_ignored(client_a, city_a):
    body = {
        "title": "t",
        "city": city_a.pk,
        "kind": "other",
        "status": "planned",
        "start_date": "2026-01-01",
        "review_status": "acknowledged",
        "version": 99,
    }
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"review_status", "version"}
    assert not Engagement.objects.exists()


def test_staff_cannot_create_in_another_city_and_the_error_names_the_field(client_a, city_b):
    body = {"title": "t", "city": city_b.pk, "kind": "other", "status": "planned", "start_date": "2026-01-01"}
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    assert "city" in response.json()


def test_staff_cannot_move_a_record_to_another_city(client_a, city_a, city_b):
    engagement = factories.EngagementFactory(city=city_a)
    response = client_a.patch(f"/api/v1/engagements/{engagement.pk}/", {"city": city_b.pk}, format="json")
    assert response.status_code == 400
    assert Engagement.objects.get(pk=engagement.pk).city_id == city_a.pk


def test_model_rules_come_back_as_field_errors(client_a, city_a):
    body = {
        "title": "t",
        "city": city_a.pk,
        "kind": "other",
        "status": "planned",
        "start_date": "2026-05-02",
        "end_date": "2026-05-01",
        "counterpart_cities": [city_a.pk],
    }
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    assert "counterpart_cities" in response.json()


def test_unknown_relations_are_named(client_a, city_a):
    body = {
        "title": "t",
        "city": city_a.pk,
        "kind": "other",
        "status": "planned",
        "start_date": "2026-05-02",
        "topics": ["climate", "astrology"],
        "counterpart_cities": [987654321],
    }
    response = client_a.post("/api/v1/engagements/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "astrology" in errors["topics"][0] and "987654321" in errors["counterpart_cities"][0]


def test_a_body_over_the_limit_is_413(client_a):
    response = client_a.generic(
        "POST", "/api/v1/engagements/", b"{" + b" " * MAX_BODY_BYTES + b"}", content_type="application/json"
    )
    assert response.status_code == 413


def test_huge_ids_are_404_not_500(client_a):
    assert client_a.get("/api/v1/engagements/99999999999999999/").status_code == 404
    assert client_a.get("/api/v1/engagements/99999999999999999999999/").status_code == 404


# --- Unicode ----------------------------------------------------------------------------------


def test_unicode_round_trips_through_json(client_a, city_a):
    for name in NAMES:
        body = {
            "title": f"Delegation to {name}",
            "city": city_a.pk,
            "kind": "other",
            "status": "planned",
            "start_date": "2026-01-01",
            "participants": [{"name": name, "side": "counterpart"}],
        }
        created = client_a.post("/api/v1/engagements/", body, format="json")
        assert created.status_code == 201, created.content
        read = client_a.get(f"/api/v1/engagements/{created.json()['id']}/").json()
        assert read["title"] == f"Delegation to {name}"
        assert read["participants"][0]["name"] == name
    found = client_a.get("/api/v1/engagements/", {"q": "北京"}).json()
    assert [row["title"] for row in found["results"]] == ["Delegation to 北京"]


def test_unicode_round_trips_through_csv(client_a, city_a):
    for name in NAMES:
        factories.EngagementFactory(city=city_a, title=name, summary=f"Met the mayor of {name}")
    rows = read_csv(client_a.get("/api/v1/engagements/", {"format": "csv"}))
    assert sorted(row["title"] for row in rows) == sorted(NAMES)


def test_city_search_finds_accented_names_from_plain_letters(client_a):
    factories.CityFactory(name="Zürich", country=factories.country("CH"), subdivision="", population=400_000)
    response = client_a.get("/api/v1/cities/", {"q": "zur"})
    assert [row["name"] for row in response.json()["results"]] == ["Zürich"]


# --- CSV export -------------------------------------------------------------------------------


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_csv_cells_that_spreadsheets_would_run_are_neutralised(client_a, city_a, dangerous):
    factories.EngagementFactory(city=city_a, title=dangerous)
    (row,) = read_csv(client_a.get("/api/v1/engagements/", {"format": "csv"}))
    assert row["title"] == "'" + dangerous


def test_csv_keeps_negative_numbers_as_numbers(client_a, foreign_city):
    rows = read_csv(client_a.get("/api/v1/cities/", {"format": "csv", "q": "nagoya"}))
    assert rows[0]["longitude"] == "-118.240000"


def test_csv_has_the_same_rows_as_the_filtered_list_and_hides_what_the_caller_cannot_see(client_a, city_a, city_b):
    factories.EngagementFactory(city=city_a, title="Ours, restricted", visibility="restricted", kind="conference")
    factories.EngagementFactory(city=city_b, title="Theirs, restricted", visibility="restricted", kind="conference")
    factories.EngagementFactory(city=city_b, title="Theirs, internal", visibility="internal", kind="conference")
    factories.EngagementFactory(city=city_b, title="Another kind", visibility="internal", kind="other")
    params = {"kind": "conference"}
    listed = {row["title"] for row in client_a.get("/api/v1/engagements/", params).json()["results"]}
    exported = {row["title"] for row in read_csv(client_a.get("/api/v1/engagements/", {**params, "format": "csv"}))}
    assert listed == exported == {"Ours, restricted", "Theirs, internal"}


def test_csv_errors_are_json(client_a):
    response = client_a.get("/api/v1/engagements/", {"format": "csv", "kind": "picnic"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


# --- lookups, stats -----------------------------------------------------------------------------


def test_countries_by_iso2_networks_and_topics_by_slug(client_a):
    factories.country("NA")
    factories.NetworkFactory(slug="c40", name="C40 Cities")
    factories.topic("climate")
    assert client_a.get("/api/v1/countries/NA/").json()["name"] == "Namibia"
    assert client_a.get("/api/v1/countries/na/").json()["iso2"] == "NA"
    assert client_a.get("/api/v1/networks/c40/").json()["name"] == "C40 Cities"
    assert client_a.get("/api/v1/topics/climate/").json()["slug"] == "climate"


def test_stats_take_the_engagement_filters_and_refuse_unknown_dimensions(client_a, city_a):
    factories.EngagementFactory(city=city_a, kind="conference")
    factories.EngagementFactory(city=city_a, kind="conference")
    factories.EngagementFactory(city=city_a, kind="other")
    response = client_a.get("/api/v1/stats/engagements/", {"group_by": "kind", "kind": "conference"})
    assert [(row["key"], row["count"]) for row in response.json()] == [("conference", 2)]
    assert client_a.get("/api/v1/stats/engagements/", {"group_by": "weather"}).status_code == 400
    assert client_a.get("/api/v1/stats/engagements/").status_code == 400


def test_public_engagement_hides_an_agreement_the_partner_cannot_see(partner, city_a):
    agreement = factories.AgreementFactory(city=city_a, visibility="internal", title="Secret MOU")
    engagement = factories.EngagementFactory(city=city_a, visibility="public", agreement=agreement)
    client = APIClient()
    client.force_authenticate(partner)
    row = client.get(f"/api/v1/engagements/{engagement.pk}/").json()
    assert row["agreement"] is None and row["agreement_title"] is None


# --- throttling ---------------------------------------------------------------------------------


@pytest.fixture
def partner_rate_of_three():
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "partner": "3/min"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        cache.clear()
        yield
        cache.clear()


def test_partners_are_throttled_with_retry_after(partner, partner_rate_of_three):
    client = APIClient()
    client.force_authenticate(partner)
    statuses = [client.get("/api/v1/topics/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get("/api/v1/topics/")
    assert int(throttled["Retry-After"]) > 0


def test_staff_are_not_throttled_by_the_partner_rate(staff_a, partner_rate_of_three):
    client = APIClient()
    client.force_authenticate(staff_a)
    assert {client.get("/api/v1/topics/").status_code for _ in range(5)} == {200}
