"""What the write path tells the rest of the project once a write is committed.

The services of this app are the only writers of agreements and engagements. Everything that
follows from a write and is not the write itself (alerts today, compliance flags tomorrow)
subscribes to `records_written` in its app's `ready()`, so this app never imports its listeners
and a new writer cannot forget one: a single save and a chunk of ten thousand imported rows send
the same event, once per committed write.

Receivers get `sender` (the model), `created` and `changed` (lists of ids). They run after the
commit, outside any transaction: a receiver that fails is logged and does not undo the write or
keep the other receivers from running. A writer whose commits are not the end of its work (an
import's writing thread) may hold them (`holding`) for its caller to send.
"""

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

records_written = Signal()

_holding = threading.local()


class Held:
    """Announcements whose transactions committed, not yet sent."""

    def __init__(self):
        self.committed: list[tuple] = []

    def send(self) -> None:
        """Send them, in the order they committed, once each, from the calling thread."""
        while self.committed:
            _send(*self.committed.pop(0))


@contextmanager
def holding() -> Iterator[Held]:
    """Within: what this thread announces is kept, as it commits, in the `Held` given, rather
    than sent by this thread; still nothing for a transaction that rolls back."""
    held = _holding.held = Held()
    try:
        yield held
    finally:
        _holding.held = None


def announce(model, *, created: Iterable[int] = (), changed: Iterable[int] = ()) -> None:
    """Send `records_written` for these records when the current transaction commits (at once
    outside one); nothing is sent if it rolls back."""
    created, changed = sorted(set(created)), sorted(set(changed))
    if not (created or changed):
        return
    held = getattr(_holding, "held", None)
    if held is not None:
        transaction.on_commit(lambda: held.committed.append((model, created, changed)))
    else:
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
