"""The daily compliance and lifecycle scan, as a django-celery-beat entry an admin can change.
It runs before the notifications' daily scan, which announces deadlines and lapsed agreements.
An existing entry of the same name is left as the admin set it."""

from django.db import migrations
from django.utils import timezone

NAME = "Compliance: daily scan (flags raised and lifted, agreements' last activity)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab_fields = {"minute": "30", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
    crontab = CrontabSchedule.objects.filter(timezone="UTC", **crontab_fields).first()
    if crontab is None:
        crontab = CrontabSchedule.objects.create(timezone="UTC", **crontab_fields)
    PeriodicTask.objects.create(
        name=NAME,
        task="compliance.daily_scan",
        crontab=crontab,
        description="Raises flags of rules now in force, lifts those that no longer apply, refreshes last activity.",
        enabled=True,
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
