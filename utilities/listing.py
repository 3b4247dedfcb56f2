"""What every list page does the same way: the shared FilterSet reads the URL, the list is sorted,
paged and counted, and `?format=csv` exports exactly the rows the filters select."""

from dataclasses import dataclass

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from utilities import csv as csv_files
from utilities.csv import copy_csv_response, csv_response
from utilities.pagination import CountedPaginator

PAGE_SIZE = 50


@dataclass(frozen=True)
class Column:
    """A sortable column: its heading and the `ordering` value it sorts by."""

    label: str
    ordering: str = ""


def list_page(
    request,
    *,
    queryset,
    filterset_class,
    template: str,
    columns: list[Column],
    csv_name: str,
    csv_header: list[str],
    csv_row,
    csv_rows=None,
    csv_copy=None,
    total=None,
    context: dict | None = None,
):
    """`csv_row` makes a CSV row of one record; `csv_rows`, if given, makes them all from the
    filtered queryset itself (faster than a model instance per row) and `csv_row` is unused;
    `csv_copy`, if given, turns the filtered queryset into the CSV's cells in SQL for PostgreSQL
    to write (`utilities.csv.copy_csv_response`), or None to keep the Python path. `total`, if
    given, tells the number of records the (valid) filters in the query select without counting
    them, or None when it cannot."""
    filterset = filterset_class(request.GET, queryset=queryset, request=request)
    _friendlier_widgets(filterset.form)
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    if request.GET.get("format") == "csv":
        if csv_copy is not None and csv_files.copy_supported(rows.db):
            cells = csv_copy(rows, csv_header)
            if cells is not None:
                return copy_csv_response(csv_name, csv_header, cells)
        if csv_rows is not None:
            return csv_response(csv_name, csv_header, csv_rows(rows))
        records = (dict(zip(csv_header, csv_row(row), strict=True)) for row in rows.iterator(chunk_size=2000))
        return csv_response(csv_name, csv_header, records)
    known = total(request.GET) if total is not None and filterset.is_valid() else None
    paginator = Paginator(rows, PAGE_SIZE) if known is None else CountedPaginator(rows, PAGE_SIZE, count=known)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except Exception as error:  # noqa: BLE001 - any bad page number is "no such page"
        raise Http404("No such page.") from error
    current = request.GET.get("ordering", "")
    return render(
        request,
        template,
        {
            "filter": filterset,
            "page": page,
            "count": paginator.count,
            "columns": columns,
            "ordering": current,
            "filtered": any(value for key, value in request.GET.items() if key not in ("page", "ordering")),
            **(context or {}),
        },
    )


# Labels for people rather than for API documentation.
FILTER_LABELS = {
    "q": "Search titles and summaries",
    "state": "State",
    "start_after": "Starting on or after",
    "start_before": "Starting on or before",
    "signed_after": "Signed on or after",
    "signed_before": "Signed on or before",
    "expires_after": "Expiring on or after",
    "expires_before": "Expiring on or before",
    "counterpart_city": "Counterpart city (id)",
    "agreement": "Agreement (id)",
}


class CheckboxOptions(forms.CheckboxSelectMultiple):
    """Django's tick boxes, the same markup drawn by one template instead of three per box: a
    list page's filters draw some forty boxes on every request."""

    template_name = "utilities/checkbox_options.html"


def _friendlier_widgets(form) -> None:
    """Choices as tick boxes and dates as date pickers: easier by keyboard and on a phone than
    multiple-select boxes and free text."""
    form.label_suffix = ""
    for name, label in FILTER_LABELS.items():
        if name in form.fields:
            form.fields[name].label = label
    if "state" in form.fields:
        form.fields["state"].widget.attrs.update(placeholder="e.g. US-CA", size=8)
    for field in form.fields.values():
        if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
            field.widget = CheckboxOptions()
            field.widget.choices = field.choices
        elif isinstance(field, forms.DateField):
            field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
