"""The in-app inbox, the unread count in the navigation, and the notifications API."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.services import issue_token
from notifications.models import Kind, Notification
from tests import factories


def notify(user, title, *, read=False, minutes_ago=0, **fields):
    return Notification.objects.create(
        recipient=user,
        kind=fields.pop("kind", Kind.AGREEMENT_EXPIRING),
        object_key=f"test:{title}",
        title=title,
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
        **fields,
    )


@pytest.fixture
def alices_notifications(staff_a, staff_b):
    notify(staff_a, "Old and read", read=True, minutes_ago=1)
    notify(staff_a, "Older unread", minutes_ago=30)
    notify(staff_a, "Newest unread", minutes_ago=5)
    notify(staff_b, "Bob's own")


def titles(response):
    return [n.title for n in response.context["page"].object_list]


def test_the_inbox_lists_the_users_own_notifications_unread_first(client, staff_a, alices_notifications):
    client.force_login(staff_a)

    response = client.get("/notifications/")

    assert titles(response) == ["Newest unread", "Older unread", "Old and read"]


def test_the_navigation_shows_the_unread_count(client, staff_a, alices_notifications):
    client.force_login(staff_a)

    html = client.get("/notifications/").content.decode()

    assert 'aria-label="2 unread"' in html


def test_the_inbox_page_reads_in_a_fixed_number_of_queries(
    client, staff_a, alices_notifications, django_assert_num_queries
):
    client.force_login(staff_a)
    for n in range(20):
        notify(staff_a, f"More {n}")
    # 1 session, 2 user, 3 home cities for the visibility filter, 4 unread count (navigation),
    # 5 home cities for the time zone, 6 page count, 7 home cities in the header, 8 page rows,
    # 9-11 the session's expiry refresh (savepoint, update, release).
    with django_assert_num_queries(11):
        client.get("/notifications/")


def test_marking_one_read(client, staff_a, alices_notifications):
    client.force_login(staff_a)
    notification = Notification.objects.get(title="Newest unread")

    response = client.post(f"/notifications/{notification.pk}/read/")

    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.is_read
    assert titles(client.get("/notifications/"))[0] == "Older unread"


def test_marking_one_read_in_place_with_htmx_returns_the_row(client, staff_a, alices_notifications):
    client.force_login(staff_a)
    notification = Notification.objects.get(title="Newest unread")

    response = client.post(f"/notifications/{notification.pk}/read/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert f'id="notification-{notification.pk}"' in response.content.decode()
    assert "Mark read" not in response.content.decode()


def test_marking_all_read(client, staff_a, staff_b, alices_notifications):
    client.force_login(staff_a)

    client.post("/notifications/read-all/")

    assert not Notification.objects.filter(recipient=staff_a, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=staff_b, read_at__isnull=True).exists()


def test_someone_elses_notification_does_not_exist_for_you(client, staff_a, alices_notifications):
    client.force_login(staff_a)
    bobs = Notification.objects.get(title="Bob's own")

    assert client.post(f"/notifications/{bobs.pk}/read/").status_code == 404
    bobs.refresh_from_db()
    assert not bobs.is_read


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/notifications/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_liaison_chooses_email_kinds_among_those_liaisons_receive(client, liaison):
    client.force_login(liaison)

    form = client.get("/notifications/preferences/").context["form"]

    assert [value for value, _ in form.fields["emailed_kinds"].choices] == [
        Kind.ENGAGEMENT_ALERT,
        Kind.WEEKLY_DIGEST,
    ]


# --- API ---------------------------------------------------------------------------------------


def test_the_api_lists_only_the_callers_notifications(client, staff_a, alices_notifications):
    client.force_login(staff_a)

    body = client.get("/api/v1/notifications/").json()

    assert body["count"] == 3
    assert [n["title"] for n in body["results"]] == ["Old and read", "Newest unread", "Older unread"]  # newest first
    assert body["results"][0]["url"].startswith("http://testserver/")


def test_the_api_marks_a_notification_read(client, staff_a, alices_notifications):
    client.force_login(staff_a)
    notification = Notification.objects.get(title="Newest unread")

    response = client.post(f"/api/v1/notifications/{notification.pk}/read/")

    assert response.status_code == 200
    assert response.json()["is_read"] is True
    notification.refresh_from_db()
    assert notification.is_read


def test_the_api_hides_other_peoples_notifications(client, staff_a, alices_notifications):
    client.force_login(staff_a)
    bobs = Notification.objects.get(title="Bob's own")

    assert client.get(f"/api/v1/notifications/{bobs.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{bobs.pk}/read/").status_code == 404


def test_the_api_wants_a_signed_in_caller(client, alices_notifications):
    assert client.get("/api/v1/notifications/").status_code == 401


def test_the_api_accepts_a_token(client, partner, alices_notifications):
    key = issue_token(user=partner)

    response = client.get("/api/v1/notifications/", headers={"Authorization": f"Token {key}"})

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_api_lists_a_liaisons_alert_with_a_link_to_the_engagement(client, liaison, city_a):
    engagement = factories.EngagementFactory(city=city_a, federal_coordination_requested=True)
    notify(liaison, "Alert", kind=Kind.ENGAGEMENT_ALERT, engagement=engagement)
    client.force_login(liaison)

    [item] = client.get("/api/v1/notifications/").json()["results"]

    assert item["engagement"] == engagement.pk
    assert item["url"] == f"http://testserver/engagements/{engagement.pk}/"


def test_the_latest_notifications_panel_lists_unread_ones_for_a_desk(rf, staff_a, alices_notifications):
    from django.template import Context, Template

    request = rf.get("/")
    request.user = staff_a

    html = Template("{% load notifications %}{% latest_notifications %}").render(
        Context({"request": request, "unread_notifications": 2})
    )

    assert "Newest unread" in html and "Older unread" in html
    assert "Old and read" not in html and "Bob's own" not in html


def test_the_api_filters_unread_ones(client, staff_a, alices_notifications):
    client.force_login(staff_a)

    body = client.get("/api/v1/notifications/", {"unread": "true"}).json()

    assert sorted(n["title"] for n in body["results"]) == ["Newest unread", "Older unread"]
