"""What the write path tells the rest of the project once a write is committed.

The services of this app are the only writers of agreements and engagements. Everything that
follows from a write and is not the write itself (alerts today, compliance flags tomorrow)
subscribes to `records_written` in its app's `ready()`, so this app never imports its listeners
and a new writer cannot forget one: a single save and a chunk of ten thousand imported rows send
the same event, once per committed write.

Receivers get `sender` (the model), `created` and `changed` (lists of ids). They run after the
commit, outside any transaction: a receiver that fails is logged and does not undo the write or
keep the other receivers from running.
"""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

records_written = Signal()


def announce(model, *, created: Iterable[int] = (), changed: Iterable[int] = ()) -> None:
    """Send `records_written` for these records when the current transaction commits (at once
    outside one); nothing is sent if it rolls back."""
    created, changed = sorted(set(created)), sorted(set(changed))
    if not (created or changed):
        return
    transaction.on_commit(lambda: _send(model, created, changed))


def _send(model, created: list[int], changed: list[int]) -> None:
    for receiver, result in records_written.send_robust(sender=model, created=created, changed=changed):
        if isinstance(result, Exception):
            log.error(
                "%s could not handle %d written %s",
                getattr(receiver, "__qualname__", receiver),
                len(created) + len(changed),
                model._meta.verbose_name_plural,
                exc_info=result,
            )
