"""What compliance hears from the write path: every committed write of agreements and engagements
re-evaluates those records' flags, and keeps the agreements' `last_activity_on` current.
Connected in `ComplianceConfig.ready`; it runs after the commit, set-wise, for a single save and
for an imported chunk of ten thousand rows alike."""

from engagements import lifecycle
from engagements.events import records_written
from engagements.models import Agreement, Engagement

from . import services


def on_records_written(sender, *, created, changed, **kwargs) -> None:
    if sender not in (Agreement, Engagement):
        return
    ids = [*created, *changed]
    services.evaluate(sender, ids=ids)
    if sender is Agreement:
        lifecycle.refresh_last_activity(ids)
    else:
        # A new engagement only adds activity; a changed one may also take it away.
        lifecycle.raise_last_activity(created)
        lifecycle.refresh_last_activity(lifecycle.agreements_touched_by(changed))


def connect() -> None:
    records_written.connect(on_records_written, dispatch_uid="compliance.on_records_written")
