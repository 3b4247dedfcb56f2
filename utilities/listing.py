"""What every list page does the same way: the shared FilterSet reads the URL, the list is sorted,
paged and counted, and `?format=csv` exports exactly the rows the filters select."""

from dataclasses import dataclass

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

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
    ids_first: bool = False,
    context: dict | None = None,
):
    """`csv_row` makes a CSV row of one record; `csv_rows`, if given, makes them all from the
    filtered queryset itself (faster than a model instance per row) and `csv_row` is unused;
    `csv_copy`, if given, turns the filtered queryset into the CSV's cells in SQL for PostgreSQL
    to write (`utilities.csv.copy_csv_response`), or None to keep the Python path. `total`, if
    given, tells the number of records the (valid) filters in the query select without counting
    them, or None when it cannot. `ids_first`: the page's ids are read first, then its records by
    id (`read_ids_first`)."""
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
    if ids_first:
        page.object_list = read_ids_first(page.object_list, rows)
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


def read_ids_first(page_slice, rows) -> list:
    """The records of `page_slice` (a slice of `rows`, not yet read), read as its ids, then the
    records of those ids with `rows`' related records, in the slice's order. Where an index holds
    the filters' and the order's columns, the ids come from the index alone, stepping over the
    records that do not match without reading them; one query reading whole records would read
    every record it steps over."""
    ids = list(page_slice.prefetch_related(None).values_list("pk", flat=True))
    records = rows.in_bulk(ids)
    # A record deleted between the two reads is left out.
    return [records[pk] for pk in ids if pk in records]


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
    """Django's tick boxes, the same markup written in one pass of Python: a list page's filters
    draw some forty boxes on every request, and through Django's widget templates (an option
    dictionary and three templates per box) they cost as much as the page's fifty rows."""

    def render(self, name, value, attrs=None, renderer=None):
        widget_attrs = self.build_attrs(self.attrs, attrs)
        chosen = {str(item) for item in self.format_value(value)}
        outer = {key: widget_attrs[key] for key in ("id", "class") if widget_attrs.get(key)}
        parts = [f"<div{_attributes(outer)}>"]
        for index, (group_value, group_label) in enumerate(self.choices):
            if isinstance(group_label, list | tuple):
                parts.append(f"\n  <div><label>{conditional_escape(group_value)}</label>")
                boxes = [(f"{index}_{sub}", *choice) for sub, choice in enumerate(group_label)]
            else:
                boxes = [(str(index), "" if group_value is None else group_value, group_label)]
            for box_index, box_value, box_label in boxes:
                box_attrs = dict(widget_attrs)
                if str(box_value) in chosen:
                    box_attrs.update(self.checked_attribute)
                if "id" in box_attrs:
                    box_attrs["id"] = self.id_for_label(box_attrs["id"], box_index)
                label_for = f' for="{conditional_escape(box_attrs["id"])}"' if box_attrs.get("id") else ""
                parts.append(
                    f'<div>\n    <label{label_for}><input type="checkbox" name="{conditional_escape(name)}"'
                    f' value="{conditional_escape(str(box_value))}"{_attributes(box_attrs)}>'
                    f" {conditional_escape(box_label)}</label></div>"
                )
            if isinstance(group_label, list | tuple):
                parts.append("\n  </div>")
        parts.append("\n</div>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _attributes(attrs: dict) -> str:
    """HTML attributes as Django's widget templates write them: in order, `True` bare, `False`
    left out."""
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


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
