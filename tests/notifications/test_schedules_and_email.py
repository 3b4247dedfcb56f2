"""Beat entries in the database, the email's form (plain text and HTML, absolute links, the
recipient's time zone), and the sweep that recovers lost or interrupted deliveries."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from diplomacy.celery import app
from engagements.models import Review
from engagements.services import add_review
from notifications import delivery, scans, tasks
from notifications.models import EmailState, Kind, Notification
from tests import factories


def test_the_scans_are_beat_entries_an_admin_can_change(admin_user, client):
    entries = {task.task: task for task in PeriodicTask.objects.filter(task__startswith="notifications.")}

    assert set(entries) == {"notifications.daily_scan", "notifications.weekly_digest", "notifications.sweep_emails"}
    assert all(task.enabled for task in entries.values())
    assert str(entries["notifications.weekly_digest"].crontab.day_of_week) == "1"
    assert set(entries) <= set(app.tasks)  # each entry names a task the workers know
    client.force_login(admin_user)
    response = client.get(f"/admin/django_celery_beat/periodictask/{entries['notifications.daily_scan'].pk}/change/")
    assert response.status_code == 200


def test_a_review_email_has_text_and_html_an_absolute_link_and_local_time(
    staff_a, liaison, city_a, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://diplomacy.example.gov"
    engagement = factories.EngagementFactory(city=city_a, created_by=staff_a, title="Nagoya climate forum")
    review = add_review(reviewer=liaison, engagement=engagement, decision="needs_follow_up", comment="Send minutes")
    # 18:30 UTC on 2 March is 10:30 in Los Angeles, city A's zone.
    Review.objects.filter(pk=review.pk).update(created_at=dt.datetime(2026, 3, 2, 18, 30, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.review_added.delay(review.pk)

    [message] = mail.outbox
    link = f"https://diplomacy.example.gov/engagements/{engagement.pk}/"
    assert link in message.body
    assert "2026-03-02 10:30 PST" in message.body
    html = message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"
    assert f'href="{link}"' in html and "Send minutes" in html


def test_the_inbox_shows_times_in_the_users_city_zone(client, staff_a):
    Notification.objects.create(
        recipient=staff_a,
        kind=Kind.AGREEMENT_EXPIRING,
        object_key="agreement:1",
        title="Expiring",
        created_at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC),
    )
    client.force_login(staff_a)

    assert "2026-07-01 05:00 PDT" in client.get("/notifications/").content.decode()


@pytest.fixture
def pending_notification(staff_a, city_a):
    factories.AgreementFactory(city=city_a, expires_on=timezone.localdate() + dt.timedelta(days=7))
    [pk] = scans.scan_expiring_agreements()
    return Notification.objects.get(pk=pk)


def test_the_sweep_sends_an_email_whose_job_was_lost(pending_notification, django_capture_on_commit_callbacks):
    Notification.objects.filter(pk=pending_notification.pk).update(created_at=timezone.now() - dt.timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_emails.delay()

    pending_notification.refresh_from_db()
    assert pending_notification.email_state == EmailState.SENT
    assert len(mail.outbox) == 1


def test_the_sweep_leaves_a_fresh_email_to_its_own_job(pending_notification):
    assert delivery.sweep_emails() == []


def test_the_sweep_gives_up_on_an_email_a_dead_worker_left_half_sent(pending_notification):
    Notification.objects.filter(pk=pending_notification.pk).update(
        email_state=EmailState.SENDING, email_attempted_at=timezone.now() - dt.timedelta(hours=2)
    )

    assert delivery.sweep_emails() == []

    pending_notification.refresh_from_db()
    assert pending_notification.email_state == EmailState.FAILED
    assert "not sent again" in pending_notification.email_error
    assert mail.outbox == []


def test_the_admin_lists_notifications_with_their_email_state(admin_user, client, pending_notification):
    client.force_login(admin_user)

    response = client.get("/admin/notifications/notification/?email_state=pending")

    assert response.status_code == 200
    assert pending_notification.title in response.content.decode()
