"""What notifications hear from the write path: written engagements and agreements that need a
liaison's attention, and new reviews; and from compliance: raised flags. Connected in
`NotificationsConfig.ready`."""

from compliance.events import flags_raised
from engagements.events import records_written
from engagements.models import Agreement, Engagement, Review

from . import tasks, triggers

# An import chunk writes thousands of engagements: a few hundred a job, never one job a record.
ENGAGEMENTS_PER_JOB = 500


def on_records_written(sender, *, created, changed, **kwargs) -> None:
    if sender is Engagement:
        wanted = triggers.needing_liaison_attention([*created, *changed])
        for start in range(0, len(wanted), ENGAGEMENTS_PER_JOB):
            tasks.engagements_changed.delay(wanted[start : start + ENGAGEMENTS_PER_JOB])
    elif sender is Agreement:
        # The watch list flags agreements as it flags engagements (SPEC §8.2).
        wanted = triggers.agreements_needing_liaison_attention([*created, *changed])
        for start in range(0, len(wanted), ENGAGEMENTS_PER_JOB):
            tasks.agreements_changed.delay(wanted[start : start + ENGAGEMENTS_PER_JOB])
    elif sender is Review:
        for review_id in created:
            tasks.review_added.delay(review_id)


def on_flags_raised(sender, *, ids, **kwargs) -> None:
    for start in range(0, len(ids), ENGAGEMENTS_PER_JOB):
        tasks.compliance_flags_raised.delay(ids[start : start + ENGAGEMENTS_PER_JOB])


def connect() -> None:
    records_written.connect(on_records_written, dispatch_uid="notifications.on_records_written")
    flags_raised.connect(on_flags_raised, dispatch_uid="notifications.on_flags_raised")
