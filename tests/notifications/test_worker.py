"""The worker path: real Celery workers on the Redis broker, the PostgreSQL test database and a
real SMTP server. Jobs are redelivered and run side by side; each email still goes out once."""

import datetime as dt

import pytest
import redis
from django.db import transaction
from django.utils import timezone
from kombu import pools

from accounts.models import PortfolioState
from diplomacy.celery import app
from engagements.services import save_engagement
from notifications import tasks
from notifications.models import EmailState, Kind, Notification
from tests import factories
from tests.celery_worker import REDIS_URL, live_worker  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.worker]


@pytest.fixture
def fresh_broker_pools():
    """kombu keeps a closed connection pool registered after an earlier live worker switched the
    broker back; a second live worker in the same session would find it and fail to connect."""
    pools.reset()


@pytest.fixture
def smtp_worker(fresh_broker_pools, live_worker, smtp_server, settings):  # noqa: F811
    """Workers that send mail to the test's SMTP server and retry after a fraction of a second."""
    live_worker.kill()
    live_worker.env.update(
        {
            "TEST_EMAIL_DIR": "",
            "EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}",
            "NOTIFICATION_EMAIL_RETRY_SECONDS": "0.2",
        }
    )
    live_worker.start()
    return live_worker


def idle(workers) -> bool:
    """Nothing queued on the broker and nothing running on any worker."""
    if redis.Redis.from_url(REDIS_URL).llen("celery"):
        return False
    active = app.control.inspect(timeout=1).active() or {}
    return len(active) == len(workers.processes) - sum(p.poll() is not None for p, _ in workers.processes) and not any(
        active.values()
    )


def test_an_alert_job_redelivered_after_a_refused_email_ends_with_one_notification_and_one_email(
    smtp_worker, smtp_server, city_a
):
    staff = factories.UserFactory(username="alice", role="staff", home_cities=[city_a])
    liaison = factories.UserFactory(username="carla", role="liaison")
    PortfolioState.objects.create(user=liaison, subdivision="US-CA")
    smtp_server.refuse_next = 1

    with transaction.atomic():
        engagement = save_engagement(
            actor=staff,
            data={
                "city": city_a,
                "title": "Trade mission to Osaka",
                "kind": "trade_mission",
                "status": "planned",
                "start_date": dt.date(2026, 9, 14),
                "federal_coordination_requested": True,
            },
        )
    # The broker delivers the same job again, twice.
    tasks.engagements_changed.delay([engagement.pk])
    tasks.engagements_changed.delay([engagement.pk])

    smtp_worker.wait_until(
        lambda: Notification.objects.filter(email_state=EmailState.SENT).exists() and idle(smtp_worker),
        timeout=60,
        what="the alert email to be sent and the workers to be idle",
    )
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (liaison, Kind.ENGAGEMENT_ALERT)
    assert (notification.email_state, notification.email_attempts) == (EmailState.SENT, 2)
    assert smtp_server.refused == 1
    [message] = smtp_server.messages
    assert message["To"] == "carla@example.org"


def test_two_workers_running_the_daily_scan_together_send_each_email_once(smtp_worker, smtp_server, city_a, city_b):
    smtp_worker.start()  # a second worker
    factories.UserFactory(username="alice", role="staff", home_cities=[city_a])
    factories.UserFactory(username="bob", role="staff", home_cities=[city_b])
    today = timezone.localdate()
    for n in range(40):
        factories.AgreementFactory(city=city_a if n % 2 else city_b, expires_on=today + dt.timedelta(days=n))

    tasks.daily_scan.delay()
    tasks.daily_scan.delay()

    smtp_worker.wait_until(
        lambda: Notification.objects.filter(email_state=EmailState.SENT).count() == 40 and idle(smtp_worker),
        timeout=90,
        what="40 emails and idle workers",
    )
    assert Notification.objects.count() == 40
    assert len(smtp_server.messages) == 40
    assert len({(m["To"], m["Subject"]) for m in smtp_server.messages}) == 40
