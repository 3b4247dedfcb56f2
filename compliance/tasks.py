"""The daily compliance and lifecycle scan, a beat entry an admin can change (`Compliance: daily
scan`). It raises the flags of rules that came into force, lifts those whose condition ended, and
recomputes every agreement's `last_activity_on`: set-wise, a few statements whatever the number
of records, and safe to run twice (the flags' unique keys, conditional updates)."""

from celery import shared_task
from django.db import connection, transaction

from engagements import lifecycle

from . import services


def run_daily_scan(today=None) -> dict[str, int]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        activity = lifecycle.refresh_last_activity()
        flags = services.evaluate_everything(today=today)
    return {"last_activity_changed": activity, "raised": len(flags["raised"]), "lifted": len(flags["lifted"])}


@shared_task(name="compliance.daily_scan")
def daily_scan() -> dict[str, int]:
    return run_daily_scan()
