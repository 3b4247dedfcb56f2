"""Issue #13: dates outside 1900-01-01..2100-12-31 are refused on every write path, month keys are
always `YYYY-MM`, extreme date filters are a 400 naming the parameter, and a stored
out-of-range date (written before the rule) never makes a page fail."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cities.services import save_membership, save_office
from engagements.models import Engagement
from engagements.services import save_agreement, save_engagement, save_follow_up
from engagements.stats import count_engagements
from tests import factories
from tests.engagements.test_engagement_pages import form_data
from utilities.dates import month_key, month_start

pytestmark = pytest.mark.django_db
ANCIENT = dt.date(226, 5, 1)


def test_month_keys_are_zero_padded_and_read_back():
    assert month_key(ANCIENT) == "0226-05"
    assert month_start("0226-05") == ANCIENT


@pytest.fixture
def ancient(city_a):
    """An engagement stored before the date rule existed (straight into the table)."""
    return factories.EngagementFactory(city=city_a, start_date=ANCIENT, end_date=ANCIENT, visibility="public")


def test_stored_ancient_engagement_counts_under_a_padded_month_key(ancient):
    rows = count_engagements(Engagement.objects.all(), "month")
    assert [row["key"] for row in rows] == ["0226-05"]


@pytest.mark.parametrize("who", ["liaison", "staff_a", "anonymous"])
def test_pages_showing_a_stored_ancient_engagement_answer_200(client, ancient, city_a, who, request):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    urls = ["/", f"/cities/{city_a.slug}/", f"/engagements/{ancient.pk}/"]
    for url in urls + ([] if who == "anonymous" else ["/engagements/"]):
        assert client.get(url).status_code == 200, url
    if who == "liaison":
        assert client.get("/dashboard/").status_code == 200
        assert client.get("/dashboard/month.csv").status_code in (200, 404)


def test_service_refuses_dates_out_of_range_naming_the_field(staff_a, city_a):
    base = {"city": city_a, "title": "T", "kind": "bilateral_meeting", "status": "planned"}
    with pytest.raises(ValidationError) as error:
        save_engagement(actor=staff_a, data={**base, "start_date": ANCIENT})
    assert list(error.value.message_dict) == ["start_date"]
    with pytest.raises(ValidationError) as error:
        save_engagement(
            actor=staff_a, data={**base, "start_date": dt.date(2024, 1, 1), "end_date": dt.date(9999, 12, 31)}
        )
    assert list(error.value.message_dict) == ["end_date"]
    agreement = {"city": city_a, "title": "A", "kind": "sister_city", "status": "active"}
    for name in ("signed_on", "effective_on", "expires_on"):
        with pytest.raises(ValidationError) as error:
            save_agreement(actor=staff_a, data={**agreement, name: dt.date(1899, 12, 31)})
        assert list(error.value.message_dict) == [name]


def test_follow_up_membership_and_office_dates_are_bounded(staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    with pytest.raises(ValidationError) as error:
        save_follow_up(
            actor=staff_a, data={"engagement": engagement, "description": "x", "due_on": dt.date(2101, 1, 1)}
        )
    assert list(error.value.message_dict) == ["due_on"]
    network = factories.NetworkFactory()
    with pytest.raises(ValidationError) as error:
        save_membership(
            actor=staff_a, data={"network": network, "city": city_a, "role": "member", "joined_on": ANCIENT}
        )
    assert list(error.value.message_dict) == ["joined_on"]
    with pytest.raises(ValidationError) as error:
        save_office(actor=staff_a, data={"city": city_a, "name": "Office", "established_on": dt.date(1, 1, 1)})
    assert list(error.value.message_dict) == ["established_on"]


def test_membership_left_before_joined_names_left_on_in_plain_words(staff_a, city_a):
    network = factories.NetworkFactory()
    with pytest.raises(ValidationError) as error:
        save_membership(
            actor=staff_a,
            data={
                "network": network,
                "city": city_a,
                "role": "member",
                "joined_on": dt.date(2020, 1, 1),
                "left_on": dt.date(2019, 1, 1),
            },
        )
    assert error.value.message_dict == {"left_on": ["Must be on or after joined_on (the joining date)."]}


def test_api_refuses_an_ancient_engagement_with_a_field_error(client, staff_a, city_a):
    client.force_login(staff_a)
    body = {
        "city": city_a.pk,
        "title": "T",
        "kind": "bilateral_meeting",
        "status": "planned",
        "start_date": "0226-05-01",
    }
    response = client.post("/api/v1/engagements/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["start_date"]


def test_api_patch_of_one_date_checks_the_stored_other(client, staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a, start_date=dt.date(2024, 5, 10))
    agreement = factories.AgreementFactory(city=city_a, signed_on=dt.date(2024, 5, 10))
    membership = factories.MembershipFactory(city=city_a, joined_on=dt.date(2024, 5, 10))
    client.force_login(staff_a)
    for url, field in [
        (f"/api/v1/engagements/{engagement.pk}/", "end_date"),
        (f"/api/v1/agreements/{agreement.pk}/", "expires_on"),
        (f"/api/v1/memberships/{membership.pk}/", "left_on"),
    ]:
        response = client.patch(url, {field: "2024-05-01"}, content_type="application/json")
        assert response.status_code == 400, url
        assert list(response.json()) == [field], response.json()
        assert "Constraint" not in str(response.json())


def test_form_refuses_an_ancient_start_date_next_to_the_field(client, staff_a, city_a):
    client.force_login(staff_a)
    response = client.post("/engagements/new/", form_data(city_a, start_date="0226-05-01"))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["start_date"]
    assert not Engagement.objects.exists()


EXTREMES = ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"]


@pytest.mark.parametrize("value", EXTREMES)
def test_extreme_date_filters_are_a_400_naming_the_parameter(client, liaison, value):
    client.force_login(liaison)
    for url, name in [
        ("/api/v1/engagements/", "start_before"),
        ("/api/v1/engagements/", "start_after"),
        ("/api/v1/stats/engagements/?group_by=month&", "start_after"),
        ("/api/v1/agreements/", "expires_before"),
    ]:
        sep = "" if url.endswith("&") else "?"
        response = client.get(f"{url}{sep}{name}={value}")
        assert response.status_code == 400, (url, value)
        assert name in response.json()


@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize("path", ["/", "/dashboard/", "/dashboard/month.csv", "/engagements/", "/agreements/"])
def test_extreme_date_filters_on_pages_never_fail(client, liaison, path, value):
    client.force_login(liaison)
    for name in ("start_before", "start_after"):
        response = client.get(f"{path}?{name}={value}")
        assert response.status_code in (200, 400), (path, name, value, response.status_code)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_anonymous_extreme_filters_never_fail(client, db, value):
    assert client.get(f"/?start_before={value}").status_code in (200, 400)
