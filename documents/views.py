"""Documents on record pages: the section listing them (plugged into the agreement and
engagement pages, see `engagements.panels`), the upload, the removal and the download. A download
is a view that asks the policy (SPEC §8.4): a document its reader may not see does not exist."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.policy import Action, can, reads_people, restrict
from engagements.models import Agreement, Engagement

from .forms import DocumentForm
from .models import Document
from .services import add_document, delete_document, max_bytes

RECORD_MODELS = {"agreement": Agreement, "engagement": Engagement}


def documents_of(record, user):
    """The documents of `record` that `user` may see, newest first."""
    field = record._meta.model_name
    queryset = Document.objects.filter(**{field: record})
    if reads_people(user):
        queryset = queryset.select_related("uploaded_by")
    return restrict(queryset, user).order_by("-uploaded_at", "-id")


def documents_section(request, record, form=None) -> str:
    """The "Documents" section of a record's page: what the reader may see, and the upload form
    for those who may add to the record."""
    user = request.user
    field = record._meta.model_name
    may_add = can(user, Action.CREATE, Document(**{field: record}))
    documents = list(documents_of(record, user))
    return render_to_string(
        "documents/_section.html",
        {
            "record": record,
            "record_type": field,
            "documents": documents,
            "may_add": may_add,
            "may_remove": may_add,
            "form": form or (DocumentForm() if may_add else None),
            "show_people": reads_people(user),
        },
        request=request,
    )


def _visible_record(request, record_type, pk):
    model = RECORD_MODELS[record_type]
    return get_object_or_404(model.objects.visible_to(request.user).select_related("city"), pk=pk)


def _too_large(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > max_bytes() + 65_536
    except ValueError:
        return False


@login_required
@require_POST
def document_upload(request, record_type, pk):
    """The upload form of a record's page (multipart, CSRF): back to the page with a message, or
    the page again with the form's errors."""
    record = _visible_record(request, record_type, pk)
    if not can(request.user, Action.CREATE, Document(**{record_type: record})):
        raise PermissionDenied
    target = reverse(f"{record_type}-detail", args=[record.pk])
    if _too_large(request):
        # Refused before the body is read: nothing of it is stored.
        return _upload_failed(
            request, record, None, f"The file is larger than the limit of {max_bytes() / 2**20:,.0f} MB."
        )
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            document = add_document(
                actor=request.user,
                record=record,
                upload=data["file"],
                kind=data["kind"],
                title=data["title"],
                is_public=data["is_public"],
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, f"Document “{document.title}” added.")
            return redirect(target + "#documents")
    return _upload_failed(request, record, form)


def _upload_failed(request, record, form, message: str = ""):
    return render(
        request,
        "documents/upload_failed.html",
        {
            "record": record,
            "record_type": record._meta.model_name,
            "message": message,
            "section": documents_section(request, record, form),
        },
        status=400,
    )


def _visible_document(request, pk):
    """The document, if the reader may see it; for an anonymous visitor, the sign-in page
    whether it is hidden or missing (as a record's page does)."""
    document = restrict(Document.objects.select_related("agreement", "engagement"), request.user).filter(pk=pk).first()
    if document is None:
        if request.user.is_authenticated:
            raise Http404
        return None
    return document


def download_response(document) -> FileResponse:
    """The stored file as an attachment, typed as its content was recognised."""
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, OSError) as error:
        raise Http404("The file is missing from storage.") from error
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name or document.file.name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def document_file(request, pk):
    document = _visible_document(request, pk)
    if document is None:
        return redirect_to_login(request.get_full_path())
    return download_response(document)


@login_required
@require_POST
def document_delete(request, pk):
    document = _visible_document(request, pk)
    delete_document(actor=request.user, document=document)
    messages.success(request, f"Document “{document.title}” removed.")
    return redirect(reverse(f"{document.record_type}-detail", args=[document.record_id]) + "#documents")
