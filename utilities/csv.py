"""CSV downloads safe to open in a spreadsheet program: the one writer and the one formula guard.

Every CSV the app serves (API lists, HTML list exports, dashboard tables, import reports and
import-format downloads) is written by `csv_lines`, a row at a time, so an export of every
engagement uses the same memory as an export of ten.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.http import HttpResponse, StreamingHttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets...
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
# ...unless it is a plain number ("-12.5", "+3"), which a spreadsheet reads as that number.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
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
