"""Adding and removing documents: the policy asked, the file checked (type from its content, size,
not empty, not already on the record) before anything is stored, and the stored file removed again
if the row cannot be written, so a refused upload leaves nothing behind (SPEC §8.4)."""

import hashlib
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.policy import Action, can

from .detection import UnsupportedFile, detect
from .models import Document

DUPLICATE = "This file is already attached to this record (“{title}”)."


def max_bytes() -> int:
    return settings.DOCUMENT_MAX_BYTES


def _size_text(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size:,} bytes"


def check_file(upload) -> tuple[str, int]:
    """(sha256, size) of an acceptable upload; ValidationError on `file` otherwise."""
    size = upload.size
    if size is None:
        raise ValidationError({"file": ["The file's size could not be read."]})
    if size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    if size > max_bytes():
        raise ValidationError(
            {"file": [f"The file is {_size_text(size)}; the limit is {max_bytes() / 2**20:,.0f} MB."]}
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest(), size


def _storable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor a lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@transaction.atomic
def add_document(*, actor, record, upload, kind: str, title: str = "", is_public: bool = False) -> Document:
    """Attach `upload` (a Django File with a `name`) to `record` (an agreement or engagement).
    Raises PermissionDenied, or ValidationError naming `file`, `kind` or `title`; stores nothing then."""
    field = "agreement" if record._meta.model_name == "agreement" else "engagement"
    document = Document(**{field: record}, kind=kind, is_public=is_public)
    if not can(actor, Action.CREATE, document):
        raise PermissionDenied
    errors = {}
    if kind not in Document.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(Document.Kind.values)}."]
    name = PurePath(str(getattr(upload, "name", "") or "")).name
    title = (title or "").strip() or PurePath(name).stem[:300]
    if not _storable(name):
        errors["file"] = ["The file's name holds characters that cannot be stored: rename the file."]
    elif not _storable(title):
        errors["title"] = ["Text may not contain NUL characters or broken Unicode."]
    elif len(title) > 300:
        errors["title"] = ["Give a title of at most 300 characters."]
    elif not title:
        errors["title"] = ["Give the document a title."]
    try:
        sha256, size = check_file(upload)
        detected = detect(upload, name)
    except ValidationError as error:
        errors.update(error.message_dict)
    except UnsupportedFile as error:
        errors["file"] = [str(error)]
    if errors:
        raise ValidationError(errors)
    existing = Document.objects.filter(**{field: record}, sha256=sha256).first()
    if existing is not None:
        raise ValidationError({"file": [DUPLICATE.format(title=existing.title)]})
    document.title = title
    document.original_name = name[:255]
    document.content_type = detected.mime
    document.size = size
    document.sha256 = sha256
    document.uploaded_by = actor if getattr(actor, "is_authenticated", False) else None
    document.full_clean(exclude=["file"])
    # The stored name is random: the uploaded one is kept in `original_name` for the download.
    document.file.save(f"{uuid.uuid4().hex}.{detected.extension}", upload, save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError as error:
        # The same file reached the record from another request in the meantime.
        document.file.delete(save=False)
        raise ValidationError({"file": [DUPLICATE.format(title=title)]}) from error
    except BaseException:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def delete_document(*, actor, document: Document) -> None:
    if not can(actor, Action.DELETE, document):
        raise PermissionDenied
    # The stored file goes once the deletion commits (`remove_stored_file`).
    document.delete()


def remove_stored_file(sender, instance: Document, **kwargs) -> None:
    """After a document's row is deleted (alone, or with its agreement or engagement), delete its
    file from storage once the transaction commits; a rollback keeps both."""
    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))
