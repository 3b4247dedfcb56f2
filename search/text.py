"""Accent- and case-insensitive text in SQL, the same on both databases: on PostgreSQL its own
`unaccent` and full-text search; on SQLite the project's `fold` registered as a SQL function."""

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import Case, F, FloatField, Q, TextField, Value, When
from django.db.models import Func as SqlFunc
from django.db.models.functions import Coalesce

from cities.matching import name_key
from cities.text import fold

MAX_WORDS = 6


def words_of(text: str) -> list[str]:
    """The words a query is matched by: folded (`Querétaro` -> `queretaro`), punctuation dropped."""
    return name_key(text or "").split()[:MAX_WORDS]


class Folded(SqlFunc):
    """`fold(expression)` in SQL: `lower(unaccent(...))` on PostgreSQL, `search_fold(...)` (the
    Python `cities.text.fold`) on SQLite."""

    function = "search_fold"
    output_field = TextField()

    def __init__(self, expression):
        super().__init__(Coalesce(expression, Value(""), output_field=TextField()))

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="unaccent", template="lower(%(function)s(%(expressions)s))")


def _sqlite_fold(value):
    return fold(value) if value is not None else None


def install_sqlite_fold() -> None:
    def register(sender, connection, **kwargs):
        if connection.vendor == "sqlite":
            connection.connection.create_function("search_fold", 1, _sqlite_fold, deterministic=True)

    connection_created.connect(register, weak=False, dispatch_uid="search-sqlite-fold")
    if connection.vendor == "sqlite" and connection.connection is not None:
        register(None, connection)


def full_text() -> bool:
    return connection.vendor == "postgresql"


def document(fields: tuple[tuple[str, str], ...]):
    """The full-text document of `fields` ((name, weight A-D) pairs), accents removed (PostgreSQL)."""
    vector = None
    for name, weight in fields:
        part = SearchVector(
            SqlFunc(
                Coalesce(F(name), Value(""), output_field=TextField()), function="unaccent", output_field=TextField()
            ),
            config="simple",
            weight=weight,
        )
        vector = part if vector is None else vector + part
    return vector


def prefix_query(words: list[str], operator: str = "&") -> SearchQuery:
    """`word:* & word:*` (prefixes of words); the words hold letters and digits only."""
    return SearchQuery(f" {operator} ".join(f"{word}:*" for word in words), search_type="raw", config="simple")


def word_in_fields(word: str, fields: tuple[str, ...]) -> Q:
    """`word` inside one of `fields`, accents and case ignored (annotated as `_f_<field>`)."""
    condition = Q()
    for name in fields:
        condition |= Q(**{f"_f_{name.replace('__', '_')}__contains": word})
    return condition


def folded_annotations(fields: tuple[str, ...]) -> dict:
    return {f"_f_{name.replace('__', '_')}": Folded(F(name)) for name in fields}


def name_rank(field: str, key: str):
    """How well a name matches the whole query: equal 1.0, starts with it 0.8, holds it 0.5."""
    folded = f"_f_{field.replace('__', '_')}"
    return Case(
        When(**{folded: key}, then=Value(1.0)),
        When(**{f"{folded}__startswith": key}, then=Value(0.8)),
        default=Value(0.5),
        output_field=FloatField(),
    )


__all__ = ["SearchRank", "document", "prefix_query", "words_of", "Folded", "full_text", "name_rank"]
