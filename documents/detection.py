"""What a file is, read from its content, not its name (SPEC §8.4): PDF, DOCX, XLSX, CSV, TXT, PNG
or JPEG. The binary types are recognised by their signatures (`filetype`); DOCX and XLSX, both zip
archives, by the part each must contain. CSV and TXT have no signature: they are accepted as text
only if they decode as UTF-8 without NUL or other control characters and do not look like markup
or a script. The name's extension must agree with what the content is, so an HTML page called
`.png` or a program called `.pdf` is refused."""

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import filetype


class UnsupportedFile(Exception):
    """The file is not one of the accepted types, or its name says otherwise; the message says
    which, in words for the person who uploaded it."""


@dataclass(frozen=True)
class FileType:
    extension: str
    mime: str
    label: str


PDF = FileType("pdf", "application/pdf", "PDF")
DOCX = FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word (DOCX)")
XLSX = FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel (XLSX)")
CSV = FileType("csv", "text/csv", "CSV")
TXT = FileType("txt", "text/plain", "plain text")
PNG = FileType("png", "image/png", "PNG image")
JPEG = FileType("jpg", "image/jpeg", "JPEG image")

ACCEPTED = (PDF, DOCX, XLSX, CSV, TXT, PNG, JPEG)
# The extensions each type may be named with.
EXTENSIONS = {"pdf": PDF, "docx": DOCX, "xlsx": XLSX, "csv": CSV, "txt": TXT, "png": PNG, "jpg": JPEG, "jpeg": JPEG}
ACCEPTED_TEXT = "PDF, DOCX, XLSX, CSV, TXT, PNG or JPEG"
# How much of the start of a file the checks read.
HEAD_BYTES = 8192
# Zip members that make an Office Open XML document of each kind.
OFFICE_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
# Control characters no text document has (tab, line feed and carriage return are fine).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Markup or script that a browser or a shell would run: not text we keep as a document.
ACTIVE_CONTENT = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|script|iframe|svg|object|embed|meta|a\s|img\s|\?xml)|^#!",
    re.IGNORECASE | re.MULTILINE,
)
# What the signature library says, for the message about what the file really is.
DESCRIPTIONS = {
    "exe": "a Windows program",
    "elf": "a Linux program",
    "mach-o": "a macOS program",
    "zip": "a zip archive",
}


def detect(upload, name: str) -> FileType:
    """The accepted type of `upload` (a Django File, read from the start and rewound), checked
    against the extension of `name`. Raises UnsupportedFile."""
    extension = PurePath(name or "").suffix.lower().lstrip(".")
    declared = EXTENSIONS.get(extension)
    if declared is None:
        raise UnsupportedFile(
            f"Files named “.{extension}” are not accepted: upload a {ACCEPTED_TEXT} file."
            if extension
            else f"The file name has no extension: upload a {ACCEPTED_TEXT} file named after its type."
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    actual = _from_signature(upload, head)
    if actual is None:
        actual = _as_text(upload, head, declared)
    if actual is not declared:
        raise UnsupportedFile(
            f"The file is named “.{extension}” but its content is {actual.label}: rename it or upload the right file."
        )
    return actual


def _from_signature(upload, head: bytes) -> FileType | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    found = {"pdf": PDF, "png": PNG, "jpg": JPEG}.get(kind.extension)
    if found is not None:
        return found
    if kind.extension in ("docx", "xlsx", "zip"):
        return _office_document(upload, kind.extension)
    what = DESCRIPTIONS.get(kind.extension, f"a {kind.extension.upper()} file ({kind.mime})")
    raise UnsupportedFile(f"The file's content is {what}, which is not accepted: upload a {ACCEPTED_TEXT} file.")


def _office_document(upload, guessed: str) -> FileType:
    """A zip archive is a DOCX or XLSX only if it holds that format's main part."""
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise UnsupportedFile("The file looks like an Office document but cannot be opened as one.") from error
    finally:
        upload.seek(0)
    if "[Content_Types].xml" in names:
        for extension, part in OFFICE_PARTS.items():
            if part in names:
                return DOCX if extension == "docx" else XLSX
    raise UnsupportedFile(
        f"The file's content is {DESCRIPTIONS['zip']}, not a Word or Excel document: upload a {ACCEPTED_TEXT} file."
    )


def _as_text(upload, head: bytes, declared: FileType) -> FileType:
    """Plain UTF-8 text (CSV if named so), read whole: a NUL anywhere makes it binary."""
    if declared not in (CSV, TXT):
        raise UnsupportedFile(f"The file's content is not {declared.label}: upload a {ACCEPTED_TEXT} file.")
    if ACTIVE_CONTENT.search(head):
        raise UnsupportedFile("The file holds web page markup or a script, which is not accepted as a document.")
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        for chunk in upload.chunks():
            if CONTROL.search(decoder.decode(chunk)):
                raise UnsupportedFile("The file holds binary data, not text: upload a CSV or TXT file saved as text.")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise UnsupportedFile(
            "The file is not UTF-8 text: save it as UTF-8 CSV or text and upload it again."
        ) from error
    finally:
        upload.seek(0)
    return declared
