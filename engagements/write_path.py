"""Agreements and engagements are written only through `engagements.services`.

The models and their querysets refuse a save, delete, `update()` or bulk write made outside the
services' `write_path()`, so a new view, admin action, job or import cannot write a record
without its validation, version, derived countries, history and events. Tests and benchmarks
that build records directly enter `write_path()` themselves.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_inside = ContextVar("inside_write_path", default=False)


class WriteOutsideServices(RuntimeError):
    """A write of an agreement or engagement that bypassed the services."""


@contextmanager
def write_path():
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def check_write_path(model) -> None:
    if not _inside.get():
        raise WriteOutsideServices(
            f"{model._meta.verbose_name_plural.capitalize()} are written through engagements.services."
        )
