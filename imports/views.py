from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from cities.models import Topic
from utilities import csv as csv_files
from utilities.csv import copy_csv_response, csv_response

from .columns import kinds_help
from .exports import MODELS, copy_rows, export_rows, exportable
from .forms import ImportForm
from .kinds import KINDS
from .models import ImportJob
from .services import create_job, error_report_rows, may_import_at_all

ERRORS_ON_PAGE = 200


def _job_for(request, pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("owner"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    allowed = may_import_at_all(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied
        if form.is_valid():
            try:
                job = create_job(
                    owner=request.user,
                    upload=form.cleaned_data["file"],
                    kind=form.cleaned_data["kind"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                return redirect("imports:job", pk=job.pk)
    jobs = ImportJob.objects.visible_to(request.user).select_related("owner")[:25]
    kinds = kinds_help(list(Topic.objects.order_by("slug").values_list("slug", flat=True))) if allowed else []
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs, "allowed": allowed, "kinds": kinds})


@login_required
def job_page(request, pk: int):
    job = _job_for(request, pk)
    template = "imports/_progress.html" if request.htmx else "imports/job.html"
    return render(
        request,
        template,
        {"job": job, "errors": job.row_errors.all()[:ERRORS_ON_PAGE], "errors_on_page": ERRORS_ON_PAGE},
    )


def _csv_download(rows, filename: str):
    """`rows` is the header, then the records."""
    rows = iter(rows)
    return csv_response(filename, next(rows), rows)


@login_required
def errors_csv(request, pk: int):
    job = _job_for(request, pk)
    return _csv_download(error_report_rows(job), f"import-{job.pk}-errors.csv")


@login_required
def export_csv(request, kind: str):
    """The caller's records in the import format, every cell spreadsheet-safe; the importer
    removes the guarding quote again (`utilities.csv.unguard`), so the file imports back unchanged."""
    if kind not in MODELS:
        raise Http404
    records, filename = exportable(request.user, kind), f"{kind}-import-format.csv"
    if csv_files.copy_supported(records.db):
        # Written by PostgreSQL, the same cells (imports/exports.py `copy_rows`).
        return copy_csv_response(filename, KINDS[kind].columns, copy_rows(records, kind))
    return _csv_download(export_rows(records, kind), filename)
