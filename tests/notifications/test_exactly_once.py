"""Each notification is created exactly once and emailed at most once, whatever retries,
concurrent workers or repeated schedules happen; real SMTP on loopback receives the mail."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from diplomacy.celery import app as celery_app
from notifications import delivery, scans, tasks
from notifications.models import EmailState, Notification
from tests import factories


@pytest.fixture
def expiring_agreement(city_a, staff_a):
    return factories.AgreementFactory(
        city=city_a, title="Sister city: Nagoya", expires_on=timezone.localdate() + dt.timedelta(days=30)
    )


@pytest.fixture
def retries_run_inline():
    """Tests run tasks eagerly and re-raise their exceptions; let Celery re-run a retried task at
    once instead, as a worker would after the backoff."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


def run_daily_scan(capture):
    with capture(execute=True):
        tasks.daily_scan.delay()


def test_the_same_scan_run_twice_creates_one_notification_and_sends_one_email(
    expiring_agreement, smtp_server, django_capture_on_commit_callbacks
):
    run_daily_scan(django_capture_on_commit_callbacks)
    run_daily_scan(django_capture_on_commit_callbacks)

    assert Notification.objects.count() == 1
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.org"
    assert "Sister city: Nagoya" in message["Subject"]


def test_a_delivery_retried_after_the_mail_server_refused_once_sends_one_email(
    expiring_agreement, retries_run_inline, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.refuse_next = 1

    run_daily_scan(django_capture_on_commit_callbacks)

    notification = Notification.objects.get()
    assert smtp_server.refused == 1
    assert len(smtp_server.messages) == 1
    assert (notification.email_state, notification.email_attempts) == (EmailState.SENT, 2)
    assert notification.email_error == ""


def test_an_email_the_mail_server_keeps_refusing_is_finally_marked_failed(
    expiring_agreement, retries_run_inline, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 3
    smtp_server.refuse_next = 10

    run_daily_scan(django_capture_on_commit_callbacks)

    notification = Notification.objects.get()
    assert smtp_server.refused == 3
    assert smtp_server.messages == []
    assert (notification.email_state, notification.email_attempts) == (EmailState.FAILED, 3)
    assert "451" in notification.email_error
    assert notification.read_at is None  # still in the inbox


def test_an_unreachable_mail_server_marks_the_email_failed_after_the_last_attempt(
    expiring_agreement, retries_run_inline, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 2

    run_daily_scan(django_capture_on_commit_callbacks)

    notification = Notification.objects.get()
    assert (notification.email_state, notification.email_attempts) == (EmailState.FAILED, 2)
    assert "Connection" in notification.email_error


def test_delivering_the_same_notifications_again_sends_nothing_more(expiring_agreement, smtp_server):
    ids = scans.scan_expiring_agreements()

    assert delivery.deliver_emails(ids) == []
    assert delivery.deliver_emails(ids) == []

    assert len(smtp_server.messages) == 1


def run_concurrently(target, workers=4):
    """Start `workers` threads at the same instant, each with its own database connection."""
    barrier = threading.Barrier(workers)
    errors = []

    def run():
        try:
            barrier.wait()
            target()
        except Exception as error:  # reported below, in the test's own thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_running_the_daily_scan_at_once_send_each_email_once(city_a, city_b, smtp_server):
    colleague = factories.UserFactory(username="amir", role="staff", home_cities=[city_a])
    factories.UserFactory(username="alice", role="staff", home_cities=[city_a])
    factories.UserFactory(username="bob", role="staff", home_cities=[city_b])
    today = timezone.localdate()
    for n in range(30):
        factories.AgreementFactory(city=city_a if n % 2 else city_b, expires_on=today + dt.timedelta(days=n % 90))

    run_concurrently(tasks.daily_scan)

    # 15 agreements of city A for two staff, 15 of city B for one.
    assert Notification.objects.count() == 45
    assert Notification.objects.filter(recipient=colleague).count() == 15
    assert len(smtp_server.messages) == 45
    assert set(Notification.objects.values_list("email_state", flat=True)) == {EmailState.SENT}
    sent_to = [(m["To"], m["Subject"]) for m in smtp_server.messages]
    assert len(set(sent_to)) == len(sent_to)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_emails_send_each_once(city_a, smtp_server):
    factories.UserFactory(username="alice", role="staff", home_cities=[city_a])
    for n in range(20):
        factories.AgreementFactory(city=city_a, expires_on=timezone.localdate() + dt.timedelta(days=n))
    ids = scans.scan_expiring_agreements()

    run_concurrently(lambda: delivery.deliver_emails(ids), workers=2)

    assert len(smtp_server.messages) == 20
    assert Notification.objects.filter(email_state=EmailState.SENT, email_attempts=1).count() == 20


def test_an_email_that_cannot_be_built_is_marked_failed_and_the_others_still_go(
    city_a, staff_a, smtp_server, monkeypatch
):
    from notifications import emails

    for days in (7, 30):
        factories.AgreementFactory(
            city=city_a, title=f"In {days}", expires_on=timezone.localdate() + dt.timedelta(days)
        )
    ids = scans.scan_expiring_agreements()
    real_build = emails.build_email

    def broken_for_one(notification, **kwargs):
        if notification.pk == ids[0]:
            raise ValueError("template bug")
        return real_build(notification, **kwargs)

    monkeypatch.setattr(delivery, "build_email", broken_for_one)

    assert delivery.deliver_emails(ids) == []

    broken, fine = Notification.objects.get(pk=ids[0]), Notification.objects.get(pk=ids[1])
    assert (broken.email_state, broken.email_error) == (EmailState.FAILED, "ValueError: template bug")
    assert fine.email_state == EmailState.SENT
    assert len(smtp_server.messages) == 1
