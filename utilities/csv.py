"""CSV downloads safe to open in a spreadsheet program: the one writer and the one formula guard.

Every CSV the app serves (API lists, HTML list exports, dashboard tables, import reports and
import-format downloads) is written by `csv_lines`, a row at a time, so an export of every
engagement uses the same memory as an export of ten; or, for the large lists on PostgreSQL, by
the database itself (`copy_csv_response`: `COPY (SELECT ...) TO STDOUT`), each cell put through
`Guarded`, the same guard written in SQL (a generated test holds the two equal).
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.aggregates import StringAgg
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import Case, F, Func, OrderBy, Q, TextField, Value, When
from django.db.models.functions import Cast
from django.http import HttpResponse, StreamingHttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets...
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
# ...unless it is a plain number ("-12.5", "+3"), which a spreadsheet reads as that number.
# ASCII digits only: a spreadsheet reads "-٣" as text, and PostgreSQL's `[0-9]` (the SQL guard's)
# is the same set.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
# Excel reads a UTF-8 file as such only when it starts with a byte-order mark (São Paulo, 北京).
BOM = "\ufeff"
# A streamed CSV goes out in blocks of about this many characters.
BLOCK_CHARS = 64 * 1024


def guard(text: str) -> str:
    """`text` as a spreadsheet shows it, never runs it: a leading `'` when it starts like a
    formula, except a plain number, which stays a number."""
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def unguard(text: str) -> str:
    """Undo the `'` that `guard` put before a cell (`'=SUM(...)`), so an exported file imports
    back as it was. Also before a number: files written before numbers were left alone have it."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_PREFIXES else text


def cell(value) -> str:
    """The guarded cell text for `value`: nothing for None, `true`/`false`, a list as its items
    joined with `; ` and a related object (a dict) as its name, title or id."""
    kind = type(value)
    if kind is str:
        # The common case first, and `guard` inlined: an export writes millions of cells.
        if value[:1] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(value):
            return "'" + value
        return value
    if kind is int:
        return str(value)  # a whole number is never a formula
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(_item_text(item) for item in value)
    elif isinstance(value, dict):
        value = _item_text(value)
    return guard(str(value))


def _item_text(item) -> str:
    if isinstance(item, dict):
        return str(item.get("name") or item.get("title") or item.get("id") or "")
    return "" if item is None else str(item)


class _Echo:
    """A file-like object whose `write` hands back the line, for csv.writer to stream through."""

    def write(self, value):
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Mapping | Sequence]) -> Iterator[str]:
    """The file's lines: the header, then each row, a mapping read by the header's names or a
    sequence in the header's order; every cell guarded."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([cell(name) for name in header])
    for row in rows:
        values = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        # What `cell` would give, without a call for the cells most are: text that cannot be a
        # formula, whole numbers and nothing (csv writes None as an empty cell).
        yield writer.writerow(
            [
                value
                if ((kind := type(value)) is str and value[:1] not in FORMULA_STARTS) or kind is int or value is None
                else cell(value)
                for value in values
            ]
        )


def in_blocks(lines: Iterable[str], size: int = BLOCK_CHARS) -> Iterator[str]:
    """The lines joined into blocks of about `size` characters: a streamed response writes each
    item to the socket, and a write per line of a million-line file costs more than the file."""
    block, length = [], 0
    for line in lines:
        block.append(line)
        length += len(line)
        if length >= size:
            yield "".join(block)
            block, length = [], 0
    if block:
        yield "".join(block)


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Mapping | Sequence], *, stream: bool = True
) -> HttpResponse | StreamingHttpResponse:
    """A download of the rows, streamed as they are read; `stream=False` for a small table
    (a dashboard chart's), sent whole with its length."""
    lines = csv_lines(header, rows)
    content_type = "text/csv; charset=utf-8"
    response = (
        StreamingHttpResponse(in_blocks(lines), content_type=content_type)
        if stream
        else HttpResponse("".join(lines), content_type=content_type)
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The same guard, in SQL ------------------------------------------------------------------
# `guard` as PostgreSQL evaluates it, for the exports the database writes itself: `ascii()` is the
# first character's code point (0 for an empty text), the pattern is PLAIN_NUMBER anchored at both
# ends (`fullmatch`), and an empty cell becomes NULL, which COPY writes as nothing, as csv.writer
# writes "" (COPY would write an empty text as `""`). `{cell}` is the cell's SQL.
_FORMULA_CODES = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
_PLAIN_NUMBER_SQL = f"^(?:{PLAIN_NUMBER.pattern})$"
GUARD_SQL = (
    f"CASE WHEN ascii({{cell}}) IN ({_FORMULA_CODES}) AND {{cell}} !~ '{_PLAIN_NUMBER_SQL}' "
    "THEN '''' || {cell} ELSE NULLIF({cell}, '') END"
)


class Guarded(Func):
    """A text expression as a CSV cell: `guard(value)`, and NULL (an empty cell) for NULL or "".
    PostgreSQL only (an export written with COPY)."""

    output_field = TextField()
    arity = 1

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        # The cell is named four times; a cell with parameters passes them as often.
        return GUARD_SQL.format(cell=f"({sql})"), tuple(params) * GUARD_SQL.count("{cell}")


# --- Cells in SQL, as `cell` writes their Python values ----------------------------------------
# Each returns a text expression (NULL for an empty cell) to wrap in `Guarded`.


def text_cell(expression):
    """Any value as its text (`str(value)`): numbers and text."""
    return Cast(expression, TextField())


def date_cell(expression):
    """A date as `date.isoformat()` gives it, whatever the session's DateStyle."""
    return Func(expression, Value("YYYY-MM-DD"), function="to_char", output_field=TextField())


class DateTimeCell(Func):
    """A timestamp as DRF's ISO 8601 `DateTimeField` gives it in UTC: `2026-01-31T12:00:00Z`,
    with `.ffffff` only when there are microseconds (as `isoformat` does)."""

    output_field = TextField()
    arity = 1
    template = (
        "to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        "|| CASE WHEN to_char({utc}, 'US') = '000000' THEN '' ELSE '.' || to_char({utc}, 'US') END || 'Z'"
    )

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        utc = f"(({sql}) AT TIME ZONE 'UTC')"
        return self.template.format(utc=utc), tuple(params) * self.template.count("{utc}")


def bool_cell(expression):
    """`true` or `false`, as `cell` writes a boolean."""
    return Case(
        When(Q(**{expression: True}), then=Value("true")),
        When(Q(**{expression: False}), then=Value("false")),
        output_field=TextField(),
    )


def label_cell(column: str, labels: Mapping):
    """The label of the value in `column` (a choice's display), or the value itself."""
    return Case(
        *(When(Q(**{column: value}), then=Value(str(label))) for value, label in labels.items()),
        default=F(column),
        output_field=TextField(),
    )


class MappedCell(Func):
    """The text `mapping` gives for the value of `expression` (one of its keys); NULL for any
    other. For what only Python can say of a few distinct values (a city's reference, say), said
    once per value and looked up by the database in each row (one JSON object, a parameter)."""

    output_field = TextField()
    arity = 1

    def __init__(self, expression, mapping: Mapping, **extra):
        super().__init__(expression, **extra)
        self.mapping = json.dumps({str(key): value for key, value in mapping.items()})

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(%s::jsonb ->> ({sql})::text)", (self.mapping, *params)


@dataclass(frozen=True)
class Joined:
    """A to-many column: the `value`s of the related `rows` whose `key` column is the record's
    id, joined with `; ` (as `cell` joins a list) in `order_by` order, and guarded; empty when
    there are none. Read set-wise: one aggregate per relation over the exported records' rows,
    joined to them, rather than a subquery run once per record."""

    rows: Any
    key: str
    value: Any
    order_by: Sequence
    delimiter: str = "; "


@dataclass(frozen=True)
class CopyRows:
    """What PostgreSQL writes: the rows of `queryset` (filtered and ordered as listed), one
    column per cell of `cells`: an expression on the record (a `Guarded` text, an integer) or a
    `Joined` relation."""

    queryset: Any
    # Or a function giving them, called as the download starts (after its header has gone out),
    # when working them out takes a while.
    cells: Sequence | Callable[[], Sequence]

    def sql(self) -> tuple[str, tuple]:
        """The SELECT: the record's own cells and its ordering columns in a subquery, each
        relation's aggregate (over the same records) joined to it by id, in the list's order.
        Raises EmptyResultSet when no row can match."""
        records = self.queryset.prefetch_related(None)
        alias = records.db
        cells = self.cells() if callable(self.cells) else self.cells
        ordering = list(_ordering(records))
        scalars = {f"csv_{index}": cell for index, cell in enumerate(cells) if not isinstance(cell, Joined)}
        sort_keys = {f"csv_order_{index}": expression for index, (expression, _) in enumerate(ordering)}
        base = (
            records.annotate(csv_pk=F("pk"), **scalars, **sort_keys)
            .order_by()
            .values_list("csv_pk", *scalars, *sort_keys)
        )
        base_sql, params = base.query.get_compiler(using=alias).as_sql()
        ids = records.order_by().values("pk")
        columns, joins, params = [], [], list(params)
        for index, cell in enumerate(cells):
            if not isinstance(cell, Joined):
                columns.append(f'b."csv_{index}"')
                continue
            aggregate = (
                cell.rows.filter(**{f"{cell.key}__in": ids})
                .order_by()
                .values(csv_key=F(cell.key))
                .annotate(csv_value=Guarded(StringAgg(cell.value, cell.delimiter, order_by=cell.order_by)))
                .values_list("csv_key", "csv_value")
            )
            sql, more = aggregate.query.get_compiler(using=alias).as_sql()
            joins.append(f'LEFT JOIN ({sql}) j{index} ON j{index}."csv_key" = b."csv_pk"')
            columns.append(f'j{index}."csv_value"')
            params.extend(more)
        order = ", ".join(f'b."{name}" {direction}' for name, (_, direction) in zip(sort_keys, ordering, strict=True))
        # Every piece is SQL Django compiled, or names made here; the values are parameters.
        sql = f"SELECT {', '.join(columns)} FROM ({base_sql}) b {' '.join(joins)}"  # noqa: S608
        return (f"{sql} ORDER BY {order}" if order else sql), tuple(params)


def _ordering(queryset) -> Iterator[tuple[Any, str]]:
    """The queryset's ordering as (expression, SQL direction) pairs."""
    query = queryset.query
    items = query.order_by or (query.get_meta().ordering if query.default_ordering else ())
    for item in items:
        if isinstance(item, str):
            descending = item.startswith("-")
            yield F(item.removeprefix("-")), "DESC" if descending else "ASC"
        elif isinstance(item, OrderBy):
            nulls = " NULLS FIRST" if item.nulls_first else " NULLS LAST" if item.nulls_last else ""
            yield item.expression, ("DESC" if item.descending else "ASC") + nulls
        else:
            yield item, "ASC"


def copy_supported(alias: str) -> bool:
    """Whether the database behind `alias` writes CSV itself (PostgreSQL's COPY)."""
    return connections[alias].vendor == "postgresql"


def copy_csv_response(filename: str, header: Sequence[str], rows: CopyRows) -> StreamingHttpResponse:
    """A download written by PostgreSQL: `COPY (SELECT ...) TO STDOUT` of `rows`, whose every
    cell the database formats and guards. Python passes the lines on in blocks as they are read:
    flat memory and no per-row Python work, however many rows."""
    response = StreamingHttpResponse(_copy_blocks(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _copy_blocks(header: Sequence[str], rows: CopyRows, size: int = BLOCK_CHARS) -> Iterator[bytes]:
    # COPY ends each line with "\n": the header too, so the file has one kind of line ending.
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield (BOM + writer.writerow([cell(name) for name in header])).encode("utf-8")
    try:
        sql, params = rows.sql()
    except EmptyResultSet:
        return
    if not params:
        # The SQL is written for a cursor's parameters (`%%` for `%`); with none, psycopg reads it as is.
        sql = sql.replace("%%", "%")
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    alias = rows.queryset.db
    block = bytearray()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # A statement of a few dozen expressions looks costly enough to the planner to compile
        # with JIT, which then takes seconds before the first row; the rows themselves are cheap.
        # Each relation's aggregate is hashed whole: in memory rather than in batches on disk.
        # One process: an export does not take every core of the database server.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        with cursor.cursor.copy(statement, params or None) as copy:
            # One line of the file per read: passed on in blocks, as `in_blocks` does.
            while line := copy.read():
                block += line
                if len(block) >= size:
                    yield bytes(block)
                    block.clear()
    if block:
        yield bytes(block)
