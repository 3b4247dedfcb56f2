"""Streaming CSV export of list rows, safe to open in a spreadsheet program.

Rows are written as they are read from the database, a chunk at a time, so an export of every
engagement uses the same memory as an export of ten.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# Excel reads a UTF-8 file as such only when it starts with a byte-order mark.
BOM = "\ufeff"


def neutralise(value) -> str:
    """The cell text for `value`; text that a spreadsheet would run as a formula gets a leading `'`.
    Negative numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(_item_text(item) for item in value)
    elif isinstance(value, dict):
        value = _item_text(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _item_text(item) -> str:
    if isinstance(item, dict):
        return str(item.get("name") or item.get("title") or item.get("id") or "")
    return "" if item is None else str(item)


class _Echo:
    """A file-like object whose `write` hands back the line, for csv.writer to stream through."""

    def write(self, value):
        return value


def csv_lines(header: Sequence[str], rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([neutralise(name) for name in header])
    for row in rows:
        yield writer.writerow([neutralise(row.get(name)) for name in header])


def streaming_csv_response(filename: str, header: Sequence[str], rows: Iterable[dict]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
