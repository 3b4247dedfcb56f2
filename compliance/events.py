"""What compliance tells the rest of the project once flags are raised: `flags_raised(sender=
ComplianceFlag, ids=[...])`, sent once per committed evaluation that raised (or reopened) flags.
Notifications subscribe to it; compliance never imports its listeners."""

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

flags_raised = Signal()


def announce_raised(model, ids) -> None:
    ids = sorted(set(ids))
    if ids:
        transaction.on_commit(lambda: _send(model, ids))


def _send(model, ids) -> None:
    for receiver, result in flags_raised.send_robust(sender=model, ids=ids):
        if isinstance(result, Exception):
            log.error("%s could not handle %d raised flags", receiver, len(ids), exc_info=result)
