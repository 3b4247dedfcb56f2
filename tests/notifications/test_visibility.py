"""No notification, and no email, about a record the recipient may not see: the policy is asked
when the notification is created and again when the email goes out."""

import datetime as dt

from django.core import mail

from engagements.services import add_review, save_engagement
from notifications import delivery, scans, triggers
from notifications.models import EmailState, Kind, Notification
from tests import factories

TODAY = dt.date(2026, 6, 1)


def test_no_follow_up_reminder_about_another_citys_restricted_engagement(city_a, staff_b, partner):
    engagement = factories.EngagementFactory(city=city_a, visibility="restricted")
    factories.FollowUpFactory(engagement=engagement, assignee=staff_b, due_on=TODAY + dt.timedelta(days=1))
    factories.FollowUpFactory(
        engagement=factories.EngagementFactory(city=city_a, visibility="public"),
        assignee=partner,  # partners never read follow-ups
        due_on=TODAY + dt.timedelta(days=1),
    )

    assert scans.scan_follow_ups(today=TODAY) == []
    assert not Notification.objects.exists()


def test_no_review_notice_to_a_former_author_who_cannot_see_the_restricted_engagement(
    staff_a, staff_b, city_b, liaison
):
    engagement = factories.EngagementFactory(city=city_b, created_by=staff_a, visibility="restricted")
    review = add_review(reviewer=liaison, engagement=engagement, decision="flagged")

    triggers.notify_review(review.pk)

    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"bob"}


def test_restricted_engagements_still_alert_liaisons(staff_a, city_a, liaison_ca):
    engagement = factories.EngagementFactory(city=city_a, visibility="restricted", federal_coordination_requested=True)

    triggers.notify_engagement_alert(engagement.pk)

    assert Notification.objects.get().recipient == liaison_ca


def test_a_record_made_restricted_before_the_email_goes_out_is_not_emailed_or_listed(city_a, staff_a, staff_b, client):
    engagement = factories.EngagementFactory(city=city_a, visibility="internal", title="Sensitive visit")
    factories.FollowUpFactory(engagement=engagement, assignee=staff_b, due_on=TODAY + dt.timedelta(days=1))
    ids = scans.scan_follow_ups(today=TODAY)
    save_engagement(actor=staff_a, engagement=engagement, data={"visibility": "restricted"})

    assert delivery.deliver_emails(ids) == []

    notification = Notification.objects.get()
    assert notification.email_state == EmailState.SKIPPED
    assert mail.outbox == []
    client.force_login(staff_b)
    assert "Sensitive visit" not in client.get("/notifications/").content.decode()
    assert client.get("/api/v1/notifications/").json()["count"] == 0


def test_email_preferences_turn_off_the_email_but_not_the_inbox(staff_a, city_a, client):
    client.force_login(staff_a)
    response = client.post("/notifications/preferences/", {"emailed_kinds": [Kind.REVIEW, Kind.FOLLOW_UP_DUE]})
    assert response.status_code == 302
    factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=7))

    assert scans.scan_expiring_agreements(today=TODAY) == []  # nothing to email

    notification = Notification.objects.get()
    assert notification.email_state == EmailState.SKIPPED
    assert client.get("/notifications/").context["page"].object_list[0] == notification


def test_a_recipient_without_an_email_address_still_gets_the_notification(city_a):
    factories.UserFactory(username="noemail", email="", role="staff", home_cities=[city_a])
    factories.AgreementFactory(city=city_a, expires_on=TODAY + dt.timedelta(days=7))

    scans.scan_expiring_agreements(today=TODAY)

    assert Notification.objects.get().email_state == EmailState.SKIPPED
