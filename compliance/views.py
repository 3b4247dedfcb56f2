"""`/compliance/`: open flags by state and rule, past deadline first, for liaisons and admins,
with the list of flags (filtered like `GET /api/v1/compliance-flags/`) and its CSV; and the
resolve / waive form posted from a record's page or from here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.policy import reviews_engagements
from utilities.listing import Column, list_page

from . import selectors, services
from .filters import ComplianceFlagFilterSet

CSV_HEADER = [
    "id",
    "state",
    "rule",
    "rule_name",
    "citation",
    "deadline_on",
    "record_type",
    "record_id",
    "record_title",
    "city",
    "raised_on",
    "status",
    "reason",
]


def _csv_row(flag):
    record = flag.record
    return [
        flag.pk,
        flag.rule.jurisdiction,
        flag.rule.code,
        flag.rule.name,
        flag.rule.citation,
        flag.rule.deadline_on,
        "agreement" if flag.agreement_id else "engagement",
        record.pk,
        record.title,
        record.city.label,
        flag.raised_on,
        flag.status,
        flag.reason,
    ]


@login_required
def overview(request):
    if not reviews_engagements(request.user):
        raise PermissionDenied
    return list_page(
        request,
        queryset=selectors.flags_for_list(request.user),
        filterset_class=ComplianceFlagFilterSet,
        template="compliance/overview.html",
        columns=[
            Column("Rule"),
            Column("Record"),
            Column("City"),
            Column("Raised"),
            Column("Deadline"),
            Column("Status"),
        ],
        csv_name="compliance-flags.csv",
        csv_header=CSV_HEADER,
        csv_row=_csv_row,
        context={"groups": selectors.open_counts(request.user)},
    )


@login_required
@require_POST
def decide(request, pk):
    flag = get_object_or_404(selectors.visible_flags(request.user).select_related("agreement", "engagement"), pk=pk)
    try:
        services.decide_flag(
            actor=request.user, flag=flag, status=request.POST.get("status", ""), reason=request.POST.get("reason", "")
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Flag {flag.get_status_display().lower()} → {request.POST.get('status')}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    record = flag.record
    return redirect(f"/{'agreements' if flag.agreement_id else 'engagements'}/{record.pk}/")
