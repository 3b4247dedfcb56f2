"""The scheduled scans, as django-celery-beat entries an admin can change in the admin site.

Existing entries of the same name are left as the admin set them."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    {
        "name": "Notifications: daily scan (expiring agreements, follow-ups due and overdue)",
        "task": "notifications.daily_scan",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        "description": "Agreements 90, 30 and 7 days before expiry; follow-ups due tomorrow and overdue.",
    },
    {
        "name": "Notifications: weekly liaison digest",
        "task": "notifications.weekly_digest",
        "crontab": {"minute": "0", "hour": "7", "day_of_week": "1", "day_of_month": "*", "month_of_year": "*"},
        "description": "Each liaison's portfolio: new engagements, flags and agreements expiring, every Monday.",
    },
    {
        "name": "Notifications: email sweep",
        "task": "notifications.sweep_emails",
        "crontab": {"minute": "*/15", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        "description": "Sends pending emails whose job was lost; marks as failed those a dead worker left half-sent.",
    },
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for entry in SCHEDULES:
        if PeriodicTask.objects.filter(name=entry["name"]).exists():
            continue
        crontab = CrontabSchedule.objects.filter(timezone="UTC", **entry["crontab"]).first()
        if crontab is None:
            crontab = CrontabSchedule.objects.create(timezone="UTC", **entry["crontab"])
        PeriodicTask.objects.create(
            name=entry["name"], task=entry["task"], crontab=crontab, description=entry["description"], enabled=True
        )
    # Tell a running beat that its schedule changed (what the admin does on save).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[entry["name"] for entry in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
