"""What global search searches: a registry of kinds, each giving the records of one model that a
user may see (through `accounts.policy`), the fields its words are looked for in, and how a hit
reads (title, snippet, link). An app adds a kind with `register(Kind(...))` (see `kinds.py`)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # in URLs and the API: `?kind=agreement`, each hit's `kind`
    label: str  # plural, for people: "Agreements"
    # user -> the records they may see, or None when the kind is not for them at all.
    queryset: Callable
    # Long texts searched word by word with full text on PostgreSQL: (field, weight A-D).
    texts: tuple[tuple[str, str], ...] = ()
    # Names (short fields), matched inside, ranked by how much of the name the query is.
    names: tuple[str, ...] = ()
    # word -> a Q for matches outside the record's own fields (its counterparts).
    related: Callable | None = None
    # Instead of the above: the whole query text -> a Q, and text -> its rank expression.
    match: Callable | None = None
    rank: Callable | None = None
    title: Callable = str  # record -> its title
    snippet: Callable = lambda record: ""  # record -> a line of context
    url: Callable = lambda record: record.get_absolute_url()
    order: int = 0


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    KINDS[kind.name] = kind


def kinds() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda kind: kind.order)
