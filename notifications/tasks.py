"""Celery jobs: event triggers enqueued when the write path's events arrive (`subscribers`), the scans beat
runs (entries stored in the database, editable in the admin), and email delivery with retries.

Every job takes ids and may run twice: creation and sending are claimed in the database.
"""

import random

from celery import shared_task
from django.conf import settings
from django.db import transaction

from . import compliance_notices, delivery, digests, scans, triggers

# A daily scan gives thousands of notices: a few hundred emails a job keeps the number of
# messages (each ~1.5 ms to publish) small, and a job still takes seconds, not minutes.
EMAILS_PER_JOB = 500


def enqueue_emails(notification_ids) -> None:
    """Send the new notifications' emails in chunks, once the rows are committed."""
    chunks = [list(chunk) for chunk in delivery.chunked(list(notification_ids), EMAILS_PER_JOB)]
    if chunks:
        transaction.on_commit(lambda: _publish(chunks))


def _publish(chunks: list[list[int]]) -> None:
    # One producer for all the jobs rather than one taken from the pool per job.
    with deliver_emails.app.producer_or_acquire() as producer:
        for chunk in chunks:
            deliver_emails.apply_async((chunk,), producer=producer)


@shared_task(name="notifications.engagements_changed")
def engagements_changed(engagement_ids: list[int]) -> int:
    ids = [notice for engagement_id in engagement_ids for notice in triggers.notify_engagement_alert(engagement_id)]
    enqueue_emails(ids)
    return len(ids)


@shared_task(name="notifications.agreements_changed")
def agreements_changed(agreement_ids: list[int]) -> int:
    ids = [notice for agreement_id in agreement_ids for notice in triggers.notify_agreement_alert(agreement_id)]
    enqueue_emails(ids)
    return len(ids)


@shared_task(name="notifications.compliance_flags_raised")
def compliance_flags_raised(flag_ids: list[int]) -> int:
    ids = triggers.notify_flags_raised(flag_ids)
    enqueue_emails(ids)
    return len(ids)


@shared_task(name="notifications.review_added")
def review_added(review_id: int) -> int:
    ids = triggers.notify_review(review_id)
    enqueue_emails(ids)
    return len(ids)


def run_daily_scan(today=None) -> list[int]:
    """Agreements reaching 90, 30 and 7 days before expiry; follow-ups due tomorrow or overdue.
    Returns the ids of the new notices whose emails were enqueued. One transaction: one commit
    to wait for, and the emails are published once both scans' notices are there."""
    with transaction.atomic():
        ids = (
            scans.scan_expiring_agreements(today)
            + scans.scan_follow_ups(today)
            + scans.scan_lapsed_agreements(today)
            + compliance_notices.scan_compliance_deadlines(today)
        )
        enqueue_emails(ids)
    return ids


@shared_task(name="notifications.daily_scan")
def daily_scan() -> int:
    return len(run_daily_scan())


@shared_task(name="notifications.weekly_digest")
def weekly_digest() -> int:
    ids = digests.send_weekly_digests()
    enqueue_emails(ids)
    return len(ids)


@shared_task(name="notifications.sweep_emails")
def sweep_emails() -> int:
    ids = delivery.sweep_emails()
    enqueue_emails(ids)
    return len(ids)


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with jitter, so a recovering mail server is not hit all at once."""
    base = settings.NOTIFICATION_EMAIL_RETRY_SECONDS * 2**retries
    return base + random.uniform(0, base / 2)


@shared_task(bind=True, name="notifications.deliver_emails", max_retries=None)
def deliver_emails(self, notification_ids: list[int]) -> None:
    """Email these notifications; retry only the ones the mail server refused. Each record
    counts its attempts and is marked failed after the last one, which ends the retries."""
    failed = delivery.deliver_emails(notification_ids)
    if failed:
        raise self.retry(args=[failed], countdown=backoff_seconds(self.request.retries))
