"""Sections other apps add to the agreement and engagement pages.

This app cannot import the apps that read its records (documents, for one, sits above it), so
they plug in here when they are ready: each section is a function of the request and the record
(already checked visible to the reader) that answers the section's HTML, with its own policy
checks made.
"""

from collections.abc import Callable

_sections: list[Callable] = []


def add_record_section(render: Callable) -> None:
    """Show `render(request, record)` on every agreement and engagement page, in the order added."""
    if render not in _sections:
        _sections.append(render)


def record_sections(request, record) -> list[str]:
    return [render(request, record) for render in _sections]
