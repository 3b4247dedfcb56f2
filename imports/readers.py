"""Reading import files record by record, in constant memory, whatever their format.

- CSV: UTF-8 with or without a byte-order mark (UTF-16 with a BOM too, as Excel's "Unicode text"
  writes it); comma, semicolon or tab, chosen by counting them in the header line. Any other
  encoding (cp1252, Latin-1, ...) is refused with one message rather than guessed at: a wrong
  guess would store mangled names that look right enough to go unnoticed.
- XLSX: read-only openpyxl on the sheet named after the kind (`engagements`) if there is one,
  otherwise the first sheet; the zip archive is checked for its entry count and inflated size first.
- JSON: a list of objects, parsed one object at a time.

Row numbers are those a spreadsheet shows (the header is row 1) or, in JSON, the 1-based position.
Entirely blank rows are skipped and not counted. A cell over `MAX_CELL_CHARS` characters or
holding a NUL character is a problem of its row, not of the file.
"""

import codecs
import csv
import datetime as dt
import io
import json
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO

from django.conf import settings

from utilities.csv import unguard

# The csv module's own default: beyond it a cell is reported, not silently cut.
MAX_CELL_CHARS = 131_072
# The csv module would raise on a longer field and stop the whole file; let it read any cell so
# the row alone can be rejected. The file size limit bounds what one cell can cost.
csv.field_size_limit(2**31 - 1)

JSON_BUFFER_LIMIT = 32 * 1024 * 1024
# No kind has more than twenty columns; a header of thousands is not a file of records, and would
# cost every row a pass over all of them.
MAX_COLUMNS = 1000
# Integers of more digits than this are kept as their text (Python refuses to convert beyond
# 4,300 digits); the column's own check then reports the row.
JSON_MAX_INT_DIGITS = 100
_SNIFF_BYTES = 64 * 1024


class FileUnreadable(Exception):
    """The file as a whole cannot be imported; the message says why, in one sentence."""


@dataclass
class SourceRow:
    number: int
    values: dict[str, str]
    # (column, value, message) for cells that could not be read as text.
    problems: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def bad_columns(self) -> set[str]:
        return {column for column, _, _ in self.problems}


def detect_format(name: str, head: bytes) -> str:
    suffix = PurePath(name or "").suffix.lower()
    if suffix == ".xls":
        raise FileUnreadable("Old Excel .xls files cannot be read: save the sheet as .xlsx or as CSV UTF-8.")
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".json":
        return "json"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.lstrip(codecs.BOM_UTF8).lstrip()[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def normalise_column(name) -> str:
    return " ".join(str(name or "").replace("\ufeff", "").split()).lower()


def shorten(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value):,} characters)"


def printable(text: str) -> str:
    """`text` as it can be stored and shown: NUL written `\\0`, a lone surrogate as `\\udXXX`."""
    return text.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def is_text(text: str) -> bool:
    """Whether `text` is storable Unicode text: no lone surrogate (JSON can write `"\\ud800"`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_cell(column: str, text: str, problems: list) -> str:
    if not is_text(text):
        problems.append(
            (
                column,
                shorten(printable(text)),
                "The cell holds an unpaired surrogate (\\ud800-\\udfff), which is not text.",
            )
        )
        return ""
    if len(text) > MAX_CELL_CHARS:
        problems.append(
            (column, shorten(text), f"The cell has {len(text):,} characters; the limit is {MAX_CELL_CHARS:,}.")
        )
        return ""
    if "\x00" in text:
        problems.append((column, shorten(text.replace("\x00", "\\0")), "The cell contains a NUL character."))
        return ""
    return text


def _encoding(handle: IO[bytes]) -> str:
    head = handle.read(4)
    handle.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def check_header(columns: list[str]) -> None:
    """A header a file of records can have: not too wide, every name text without NUL."""
    if len(columns) > MAX_COLUMNS:
        raise FileUnreadable(f"The header names {len(columns):,} columns; the limit is {MAX_COLUMNS:,}.")
    for index, name in enumerate(columns, start=1):
        if "\x00" in name or not is_text(name):
            raise FileUnreadable(
                f"Column {index} of the header ({shorten(printable(name), 60)}) holds a NUL or non-text character."
            )


def _not_utf8(error: UnicodeDecodeError, where: str) -> FileUnreadable:
    byte = error.object[error.start : error.start + 1].hex().upper() if error.object else "?"
    return FileUnreadable(
        f"The file is not UTF-8 text (byte 0x{byte} {where} cannot be read): "
        "save it as “CSV UTF-8” (Excel) or UTF-8 and upload it again."
    )


class CsvReader:
    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.encoding = _encoding(handle)
        self.delimiter = self._sniff_delimiter()
        self.columns: list[str] = []

    def _sniff_delimiter(self) -> str:
        sample = self.handle.read(_SNIFF_BYTES)
        self.handle.seek(0)
        text = sample.decode(self.encoding, errors="replace").lstrip("\ufeff")
        header = text.splitlines()[0] if text.strip() else ""
        counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","

    def _lines(self) -> Iterator[str]:
        """The file's lines, each decoded alone, so that a byte that is not UTF-8 fails while the
        csv reader reads the row that holds it (the row number reported is that row's)."""
        if self.encoding != "utf-8-sig":
            text = io.TextIOWrapper(self.handle, encoding=self.encoding, errors="strict", newline="")
            try:
                yield from text
            finally:
                text.detach()
            return
        decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        for line in self.handle:
            yield decoder.decode(line)
        yield decoder.decode(b"", final=True)

    def __iter__(self) -> Iterator[SourceRow]:
        for number, cells in self._filled_rows():
            yield self._row(number, cells)

    def survey(self) -> Iterator[int]:
        """Each row's number, read as `__iter__` reads it and failing where it would fail,
        without checking the cells: a bad cell is its row's problem, not the file's, and the
        checks were half the cost of the survey."""
        for number, _ in self._filled_rows():
            yield number

    def _filled_rows(self) -> Iterator[tuple[int, list[str]]]:
        """The rows after the header that hold anything, as (row number, cells)."""
        self.handle.seek(0)
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        number = 0
        try:
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise FileUnreadable("The file is empty: the first row must name the columns.")
            check_header(header)
            self.columns = [normalise_column(cell) for cell in header]
            number = 1
            for cells in reader:
                number += 1
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except UnicodeDecodeError as error:
            raise _not_utf8(error, f"in row {number + 1}") from error
        except csv.Error as error:
            raise FileUnreadable(f"The CSV cannot be read at row {number + 1}: {error}.") from error

    def _row(self, number: int, cells: list[str]) -> SourceRow:
        problems: list[tuple[str, str, str]] = []
        values = {}
        for column, cell in zip(self.columns, cells, strict=False):
            if column:
                values[column] = check_cell(column, unguard(cell.strip()), problems)
            elif cell.strip():
                problems.append(("", shorten(cell.strip()), "This cell is in a column without a name in the header."))
        extra = [cell for cell in cells[len(self.columns) :] if cell.strip()]
        if extra:
            problems.append(
                (
                    "",
                    shorten(extra[0]),
                    f"The row has {len(cells)} cells but the header names {len(self.columns)} columns.",
                )
            )
        return SourceRow(number, values, problems)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class XlsxReader:
    def __init__(self, handle: IO[bytes], kind: str):
        self.handle = handle
        self.kind = kind
        self.columns: list[str] = []
        self._check_archive()

    def _check_archive(self) -> None:
        try:
            with zipfile.ZipFile(self.handle) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise FileUnreadable("The file is not a valid XLSX workbook (it is not a readable zip archive).") from error
        finally:
            self.handle.seek(0)
        if len(entries) > settings.IMPORT_XLSX_MAX_ENTRIES:
            raise FileUnreadable(
                f"The XLSX archive holds {len(entries):,} entries; the limit is {settings.IMPORT_XLSX_MAX_ENTRIES:,}."
            )
        inflated = sum(entry.file_size for entry in entries)
        if inflated > settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES:
            raise FileUnreadable(
                f"The XLSX workbook would unpack to {inflated / 2**20:,.0f} MB; "
                f"the limit is {settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES / 2**20:,.0f} MB."
            )

    def survey(self) -> Iterator[SourceRow]:
        return iter(self)

    def __iter__(self) -> Iterator[SourceRow]:
        import openpyxl

        self.handle.seek(0)
        try:
            workbook = openpyxl.load_workbook(self.handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds on a damaged workbook
            raise FileUnreadable(f"The XLSX workbook cannot be opened: {error}.") from error
        try:
            sheets = {normalise_column(name): name for name in workbook.sheetnames}
            if not sheets:
                raise FileUnreadable("The XLSX workbook has no sheets.")
            sheet = workbook[sheets.get(self.kind, workbook.sheetnames[0])]
            rows = sheet.iter_rows(values_only=True)
            try:
                header = next(rows, None)
                if header is None or not any(_cell_text(cell) for cell in header):
                    raise FileUnreadable(f"The sheet “{sheet.title}” is empty: its first row must name the columns.")
                check_header([_cell_text(cell) for cell in header])
                self.columns = [normalise_column(_cell_text(cell)) for cell in header]
                while self.columns and not self.columns[-1]:
                    self.columns.pop()
                for number, cells in enumerate(rows, start=2):
                    row = self._row(number, cells)
                    if row is not None:
                        yield row
            except FileUnreadable:
                raise
            except Exception as error:
                raise FileUnreadable(f"The XLSX sheet “{sheet.title}” cannot be read: {error}.") from error
        finally:
            workbook.close()

    def _row(self, number: int, cells) -> SourceRow | None:
        texts = [_cell_text(cell) for cell in cells]
        if not any(texts):
            return None
        problems: list[tuple[str, str, str]] = []
        values = {}
        for index, text in enumerate(texts):
            column = self.columns[index] if index < len(self.columns) else ""
            if column:
                values[column] = check_cell(column, text, problems)
            elif text:
                problems.append(("", shorten(text), "This cell is in a column without a name in the header."))
        return SourceRow(number, values, problems)


class NotANumber:
    """`NaN`, `Infinity` or `-Infinity` in a JSON file: Python reads them, RFC 8259 does not."""

    def __init__(self, name: str):
        self.name = name


def _json_text(value) -> str:
    try:
        return json.dumps(value, default=lambda part: getattr(part, "name", str(part)))
    except (ValueError, RecursionError):
        return "(a value nested too deeply to show)"


def _json_float(text: str):
    value = float(text)
    return value if math.isfinite(value) else text


def _json_int(text: str):
    return int(text) if len(text.lstrip("-")) <= JSON_MAX_INT_DIGITS else text


class JsonReader:
    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.encoding = _encoding(handle)
        self.columns: list[str] = []
        self._known: set[str] = set()

    def survey(self) -> Iterator[SourceRow]:
        return iter(self)

    def __iter__(self) -> Iterator[SourceRow]:
        self.handle.seek(0)
        text = io.TextIOWrapper(self.handle, encoding=self.encoding, errors="strict")
        try:
            for number, item in enumerate(self._items(text), start=1):
                yield self._row(number, item)
        except UnicodeDecodeError as error:
            raise _not_utf8(error, "in the file") from error
        finally:
            text.detach()

    def _items(self, text: IO[str]) -> Iterator:
        decoder = json.JSONDecoder(parse_constant=NotANumber, parse_float=_json_float, parse_int=_json_int)
        buffer, position, ended = "", 0, False

        def more() -> None:
            nonlocal buffer, position, ended
            chunk = text.read(_SNIFF_BYTES)
            ended = not chunk
            buffer = buffer[position:] + chunk
            position = 0
            if len(buffer) > JSON_BUFFER_LIMIT:
                raise FileUnreadable("A JSON record is larger than 32 MB.")

        def next_char() -> str:
            nonlocal position
            while True:
                while position < len(buffer) and buffer[position] in " \t\r\n\ufeff":
                    position += 1
                if position < len(buffer) or ended:
                    return buffer[position] if position < len(buffer) else ""
                more()

        more()
        first = next_char()
        if first != "[":
            found = {"": "nothing", "{": "an object"}.get(first, f"“{first}”")
            raise FileUnreadable(f"The JSON file must be a list of objects ([{{...}}, ...]); it starts with {found}.")
        position += 1
        count = 0
        if next_char() == "]":
            position += 1
        else:
            while True:
                next_char()
                try:
                    item, end = decoder.raw_decode(buffer, position)
                    # A number cut at the buffer's end would decode as a shorter number.
                    if end >= len(buffer) and not ended:
                        raise json.JSONDecodeError("incomplete", buffer, end)
                except json.JSONDecodeError as error:
                    if not ended:
                        more()
                        continue
                    raise FileUnreadable(f"The JSON is invalid after record {count}: {error.msg}.") from error
                except RecursionError as error:
                    raise FileUnreadable(
                        f"Record {count + 1} of the JSON is nested too deeply to be a record of columns."
                    ) from error
                position = end
                count += 1
                yield item
                separator = next_char()
                position += 1
                if separator == "]":
                    break
                if separator != ",":
                    raise FileUnreadable(f"The JSON is invalid after record {count}: expected “,” or “]”.")
        if next_char() != "":
            raise FileUnreadable("The JSON file has more after its closing “]”.")

    def _row(self, number: int, item) -> SourceRow:
        problems: list[tuple[str, str, str]] = []
        if not isinstance(item, dict):
            problems.append(("", shorten(_json_text(item)[:200]), "This record is not an object."))
            return SourceRow(number, {}, problems)
        values = {}
        if len(item) > MAX_COLUMNS:
            raise FileUnreadable(f"Record {number} of the JSON has {len(item):,} keys; the limit is {MAX_COLUMNS:,}.")
        for key, value in item.items():
            if "\x00" in key or not is_text(key):
                problems.append(
                    ("", shorten(printable(key)), "A key of this record holds a NUL or non-text character.")
                )
                continue
            column = normalise_column(key)
            if column not in self._known:
                self._known.add(column)
                self.columns.append(column)
                if len(self.columns) > MAX_COLUMNS:
                    raise FileUnreadable(f"The JSON records name more than {MAX_COLUMNS:,} different keys.")
            if isinstance(value, NotANumber):
                problems.append(
                    (column, value.name, f"{value.name} is not a value JSON allows; give a number or text.")
                )
                continue
            if isinstance(value, list) and any(isinstance(part, NotANumber) for part in value):
                problems.append((column, shorten(_json_text(value)), "NaN and Infinity are not values JSON allows."))
                continue
            if isinstance(value, list) and all(not isinstance(part, dict | list) for part in value):
                value = "; ".join(_cell_text(part) for part in value if part is not None)
            elif isinstance(value, dict | list):
                problems.append(
                    (column, shorten(_json_text(value)), "Nested objects and lists are not supported here.")
                )
                continue
            values[column] = check_cell(column, _cell_text(value), problems)
        return SourceRow(number, values, problems)


def open_reader(handle: IO[bytes], file_format: str, kind: str):
    if file_format == "xlsx":
        return XlsxReader(handle, kind)
    if file_format == "json":
        return JsonReader(handle)
    return CsvReader(handle)
