"""Set-wise SQL for writes too large to make one ORM call per row.

On PostgreSQL these write with COPY; elsewhere they fall back to the ORM, so the same code runs on
the embedded SQLite default. `insert_selected` is one INSERT ... SELECT on both (SQLite 3.35 or
later, for RETURNING). (Reads of thousands of ids: the `any_of` lookup, `utilities.expressions`.)
"""

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection


def insert_values(model, attnames: list[str], rows: list[tuple], *, returning: bool = True) -> list[int]:
    """Insert rows of `attnames` values into `model`'s table; returns their new ids, or nothing
    when `returning` is false.

    On PostgreSQL one query draws the ids from the table's sequence and one COPY writes the rows:
    several times faster than `bulk_create`, which builds an INSERT of every value in Python.
    Rows whose ids nobody needs take them from the column's default, without the extra query.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return [instance.pk for instance in created] if returning else []
    if not returning:
        copy_into(model, attnames, copy_text(rows))
        return []
    ids = reserve_ids(model, len(rows))
    copy_into(
        model, [model._meta.pk.attname, *attnames], copy_text((pk, *row) for pk, row in zip(ids, rows, strict=True))
    )
    return ids


def reserve_ids(model, count: int) -> list[int]:
    """`count` new ids from the sequence of `model`'s table (PostgreSQL), for rows written later."""
    meta = model._meta
    with connection.cursor() as cursor:
        # One array rather than a row per id: psycopg reads it in one piece, without a tuple per id.
        cursor.execute(
            "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))",
            [meta.db_table, meta.pk.column, count],
        )
        return cursor.fetchone()[0]


def copy_into(model, attnames: list[str], text: str) -> None:
    """COPY rows already written as COPY's text (`copy_text`, `copy_line`) into `model`'s table
    (PostgreSQL), in one piece: the server reads them at its own pace, never waiting on Python
    to write the next row. A name that is no field's is a column of its own."""
    if not text:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    columns = ", ".join(quote(column_of.get(name, name)) for name in attnames)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        copy.write(text)


def copy_text(rows: Iterable[Sequence]) -> str:
    """Rows as COPY's text format reads them, a line each (see `copy_line`)."""
    return "".join([copy_line(row) + "\n" for row in rows])


def copy_line(row: Sequence) -> str:
    """One row as a line of COPY's text format, without its line break. Written here rather than
    by psycopg's `write_row`, which adapts each value through its dumpers, several times slower;
    and a line made ahead can be sent by another thread."""
    return "\t".join(map(_copy_value, row))


def _copy_value(value) -> str:
    kind = type(value)
    if kind is str:
        return _escaped(value)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind in _ISO_TYPES:
        return value.isoformat()
    if kind in _STR_TYPES:
        return str(value)
    # Choices are str and int subclasses: their plain value, as the database stores it.
    if isinstance(value, str):
        return _escaped(str.__str__(value))
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, _ISO_TYPES):
        return value.isoformat()
    raise TypeError(f"COPY text of a {kind.__name__} is not written here")


def _escaped(text: str) -> str:
    """Text as COPY reads it: a backslash, tab or line break escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_ISO_TYPES = (dt.date, dt.datetime, dt.time)
_STR_TYPES = (Decimal, float, uuid.UUID)


def id_array_literal(values) -> str:
    """A PostgreSQL array of whole numbers (ids) as its literal (`{1,2}`), sent as one text:
    psycopg adapts a Python list element by element, in Python, 1 ms per thousand values."""
    return "{" + ",".join(map(str, values)) + "}"


def array_literal(values: list[str]) -> str:
    """A PostgreSQL text array as its literal (`{"a","b"}`), which COPY reads as fast as any
    text; psycopg adapts a Python list element by element, in Python."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


def insert_selected(
    model, attnames: list[str], queryset, *, constants: dict | None = None, returning: tuple[str, ...] = ()
) -> list:
    """Insert into `model`'s table the rows `queryset` selects (a `values_list` of `attnames`'
    values, in that order), each with the `constants` columns' values too; the rows go from
    table to table inside the database, never through Python. Returns the new rows' ids, or
    with `returning`, a tuple of those fields' values per new row."""
    meta = model._meta
    # Adapted as the ORM adapts them (SQLite stores an aware datetime as naive UTC text).
    constants = {
        name: meta.get_field(name).get_db_prep_save(value, connection) for name, value in (constants or {}).items()
    }
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column_of[name]) for name in [*attnames, *constants])
    selected, params = queryset.query.sql_with_params()
    extra = "".join(", %s" for _ in constants)
    with connection.cursor() as cursor:
        # Names come from the model's metadata; values are parameters.
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT selected.*{extra} FROM ({selected}) AS selected "  # noqa: S608
            f"RETURNING {', '.join(quote(column_of[name]) for name in returning or [meta.pk.attname])}",
            [*constants.values(), *params],
        )
        rows = cursor.fetchall()
    return rows if returning else [pk for (pk,) in rows]


# Tables that triggers rewrite row by row while records are loaded (counts kept exact at every
# commit): each load leaves a dead version of a row per statement that touched it. Apps add
# theirs when ready (`churned_by_loads`).
_CHURNED_MODELS: list = []


def churned_by_loads(*models) -> None:
    """Declare `models` as rewritten by triggers during loads: `refresh_statistics` vacuums them."""
    _CHURNED_MODELS.extend(model for model in models if model not in _CHURNED_MODELS)


def refresh_statistics(models, *, vacuum_loaded: bool = False, churned_rollups: bool = True) -> None:
    """Bring the planner's statistics of `models` (and their many-to-many tables) up to date after
    a bulk load. Autovacuum may be off, or not yet have noticed a million new rows: until then,
    plans are made for the empty tables (the review queue took over 30 s on such a database until
    it was analysed). Only the tables loaded: a job's own bookkeeping, emptied as it ends, would
    be recorded empty and planned for badly next time.

    The tables triggers rewrote during the load (`churned_by_loads`) are vacuumed too: with
    autovacuum off, a million-row load left 1.1 million dead rows beside 0.3 million live ones in
    the city tallies, and every count read stepped over them. `vacuum_loaded` vacuums the loaded
    tables as well, marking their new pages all-visible so that index-only scans skip them
    (0.5 s for a million rows, but a fifth of a 100,000-row import's time: imports leave it to
    autovacuum). VACUUM cannot run inside a transaction; inside one (a caller's atomic block)
    every table is only analysed. A load that writes no counted record (`churned_rollups=False`:
    reference data) leaves the rollups alone."""
    if connection.vendor != "postgresql":
        return
    loaded = []
    for model in models:
        loaded.append(model._meta.db_table)
        loaded.extend(field.remote_field.through._meta.db_table for field in model._meta.local_many_to_many)
    churned = [model._meta.db_table for model in _CHURNED_MODELS] if churned_rollups else []
    vacuumed = [] if connection.in_atomic_block else churned + (loaded if vacuum_loaded else [])
    analysed = [table for table in loaded + churned if table not in vacuumed]
    quote = connection.ops.quote_name

    def listed(tables) -> str:
        return ", ".join(quote(table) for table in dict.fromkeys(tables))

    # Table names come from the models' metadata.
    with connection.cursor() as cursor:
        if vacuumed:
            cursor.execute(f"VACUUM (ANALYZE) {listed(vacuumed)}")
        if analysed:
            cursor.execute(f"ANALYZE {listed(analysed)}")
