"""The staff desk and follow-ups."""

import datetime as dt

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from engagements.desk import staff_desk
from engagements.models import FollowUp
from tests import factories

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def desk_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return staff_desk(request)


def test_desk_shows_what_is_coming_and_due_for_the_home_city_only(staff_a, city_a, city_b, liaison):
    today = timezone.localdate()
    upcoming = factories.EngagementFactory(
        city=city_a, title="Mayor of Nagoya visits", start_date=today + dt.timedelta(days=5), status="confirmed"
    )
    factories.EngagementFactory(city=city_b, title="Chicago's own visit", start_date=today + dt.timedelta(days=5))
    factories.EngagementFactory(city=city_a, title="Long past", start_date=today - dt.timedelta(days=400))
    factories.FollowUpFactory(
        engagement=upcoming, description="Book the interpreter", due_on=today - dt.timedelta(days=1)
    )
    factories.FollowUpFactory(engagement=upcoming, description="Already done", due_on=today, done_at=timezone.now())
    factories.AgreementFactory(
        city=city_a, title="MOU with Nagoya", signed_on=dt.date(2020, 1, 1), expires_on=today + dt.timedelta(days=30)
    )
    factories.AgreementFactory(
        city=city_a, title="Far-off expiry", signed_on=dt.date(2020, 1, 1), expires_on=today + dt.timedelta(days=300)
    )
    factories.ReviewFactory(
        engagement=upcoming, reviewer=liaison, decision="needs_follow_up", comment="Please brief State"
    )

    response = desk_for(staff_a)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Log an engagement" in html and reverse("engagement-create") in html
    assert "Mayor of Nagoya visits" in html
    assert "Chicago&#x27;s own visit" not in html and "Long past" not in html
    assert "Book the interpreter" in html and "overdue" in html and "Already done" not in html
    assert "MOU with Nagoya" in html and "Far-off expiry" not in html
    assert "Please brief State" in html and "Needs follow-up" in html
    assert 'id="notifications-heading"' in html


def test_desk_query_count_is_fixed(staff_a, city_a, liaison, django_assert_num_queries):
    today = timezone.localdate()
    for n in range(5):
        engagement = factories.EngagementFactory(city=city_a, start_date=today + dt.timedelta(days=n))
        factories.FollowUpFactory(engagement=engagement, due_on=today, assignee=staff_a)
        factories.ReviewFactory(engagement=engagement, reviewer=liaison)
    staff_a.refresh_from_db()
    # home cities (policy), unread notifications and home cities in the header, the desk's
    # cities, upcoming, follow-ups, expiring agreements, reviews, latest notifications;
    # nothing per row.
    with django_assert_num_queries(9):
        desk_for(staff_a)


def test_staff_add_and_complete_a_follow_up(staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    client = client_for(staff_a)
    response = client.post(
        reverse("follow-up-create", args=[engagement.pk]),
        {"description": "Send the thank-you letter", "due_on": "2026-12-01", "assignee": staff_a.pk},
    )
    assert response.status_code == 302
    follow_up = FollowUp.objects.get()
    assert follow_up.assignee == staff_a and follow_up.engagement == engagement
    response = client.post(reverse("follow-up-done", args=[follow_up.pk]), {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None


def test_follow_up_done_refuses_a_foreign_next_url(staff_a, city_a):
    follow_up = factories.FollowUpFactory(engagement=factories.EngagementFactory(city=city_a))
    response = client_for(staff_a).post(
        reverse("follow-up-done", args=[follow_up.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("engagement-detail", args=[follow_up.engagement_id])


def test_a_follow_up_without_description_is_refused_beside_the_field(staff_a, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    response = client_for(staff_a).post(
        reverse("follow-up-create", args=[engagement.pk]), {"description": "", "due_on": "2026-12-01"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["description"]
    assert 'value="2026-12-01"' in response.content.decode()


def test_follow_ups_of_another_city_cannot_be_changed(staff_b, city_a):
    follow_up = factories.FollowUpFactory(engagement=factories.EngagementFactory(city=city_a))
    client = client_for(staff_b)
    assert client.post(reverse("follow-up-done", args=[follow_up.pk])).status_code == 403
    assert client.get(reverse("follow-up-edit", args=[follow_up.pk])).status_code == 403
    assert (
        client.post(reverse("follow-up-create", args=[follow_up.engagement_id]), {"description": "x"}).status_code
        == 403
    )
    follow_up.refresh_from_db()
    assert follow_up.done_at is None


def test_follow_ups_of_a_hidden_engagement_do_not_exist(staff_b, city_a):
    follow_up = factories.FollowUpFactory(engagement=factories.EngagementFactory(city=city_a, visibility="restricted"))
    client = client_for(staff_b)
    assert client.post(reverse("follow-up-done", args=[follow_up.pk])).status_code == 404
    assert client.get(reverse("follow-up-edit", args=[follow_up.pk])).status_code == 404


def test_follow_up_done_needs_post(staff_a, city_a):
    follow_up = factories.FollowUpFactory(engagement=factories.EngagementFactory(city=city_a))
    assert client_for(staff_a).get(reverse("follow-up-done", args=[follow_up.pk])).status_code == 405
