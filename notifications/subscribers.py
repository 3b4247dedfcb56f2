"""What notifications hear from the write path: written engagements that need a liaison's
attention, and new reviews. Connected in `NotificationsConfig.ready`."""

from engagements.events import records_written
from engagements.models import Engagement, Review

from . import tasks, triggers

# An import chunk writes thousands of engagements: a few hundred a job, never one job a record.
ENGAGEMENTS_PER_JOB = 500


def on_records_written(sender, *, created, changed, **kwargs) -> None:
    if sender is Engagement:
        wanted = triggers.needing_liaison_attention([*created, *changed])
        for start in range(0, len(wanted), ENGAGEMENTS_PER_JOB):
            tasks.engagements_changed.delay(wanted[start : start + ENGAGEMENTS_PER_JOB])
    elif sender is Review:
        for review_id in created:
            tasks.review_added.delay(review_id)


def connect() -> None:
    records_written.connect(on_records_written, dispatch_uid="notifications.on_records_written")
