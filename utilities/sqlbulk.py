"""Set-wise SQL for writes too large to make one ORM call per row.

On PostgreSQL these write with COPY; elsewhere they fall back to the ORM, so the same code runs on
the embedded SQLite default. `insert_selected` is one INSERT ... SELECT on both (SQLite 3.35 or
later, for RETURNING). (Reads of thousands of ids: the `any_of` lookup, `utilities.expressions`.)
"""

from operator import attrgetter

from django.db import connection


def insert_rows(model, instances: list, *, extra: dict[str, list] | None = None) -> None:
    """Insert new instances and give them their ids (see `insert_values`). On PostgreSQL,
    `extra` gives columns that are no model field, a value per instance (`{column: values}`)."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances)
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    extra = extra or {}
    # Field values go to COPY as they are: every field of these models holds a plain value
    # (text, number, date, time, boolean, id) that psycopg adapts itself.
    names = [field.attname for field in fields]
    # attrgetter of one name gives the value, not a 1-tuple.
    values_of = attrgetter(*names) if len(names) > 1 else lambda instance: tuple(getattr(instance, n) for n in names)
    rows = [
        (*values_of(instance), *(values[index] for values in extra.values()))
        for index, instance in enumerate(instances)
    ]
    ids = insert_values(model, [*names, *extra], rows)
    for instance, pk in zip(instances, ids, strict=True):
        setattr(instance, meta.pk.attname, pk)
        instance._state.adding = False
        instance._state.db = connection.alias


def insert_values(model, attnames: list[str], rows: list[tuple], *, returning: bool = True) -> list[int]:
    """Insert rows of `attnames` values into `model`'s table; returns their new ids, or nothing
    when `returning` is false.

    On PostgreSQL one query draws the ids from the table's sequence and one COPY writes the rows:
    several times faster than `bulk_create`, which builds an INSERT of every value in Python.
    Rows whose ids nobody needs take them from the column's default, without the extra query.
    """
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return [instance.pk for instance in created] if returning else []
    quote = connection.ops.quote_name
    # A name that is no field's is a column of its own (`insert_rows`' extra columns).
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    column_of = {name: column_of.get(name, name) for name in [meta.pk.attname, *attnames]}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [value for (value,) in cursor.fetchall()]
            columns = ", ".join(quote(column_of[name]) for name in [meta.pk.attname, *attnames])
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
                _write_rows(copy, [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
            return ids
        columns = ", ".join(quote(column_of[name]) for name in attnames)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            _write_rows(copy, rows)
    return []


def _write_rows(copy, rows: list[tuple]) -> None:
    """Rows of whole numbers and text only (the ids and keys of relation rows) go as COPY's
    text, written in one piece: psycopg's `write_row` adapts each value of each row in Python,
    several times slower."""
    if all(type(value) is int or type(value) is str for row in rows for value in row):
        copy.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))
    else:
        for row in rows:
            copy.write_row(row)


def _copy_text(value: int | str) -> str:
    """A value as COPY's text format writes it: a backslash, tab or line break escaped."""
    if type(value) is int:
        return str(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


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
