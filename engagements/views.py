"""Pages for logging and reading agreements, engagements and follow-ups.

Every record is fetched through `visible_to` (an invisible record is a 404) and every change is
asked of `accounts.policy.can` (a visible record one may not change is a 403); the writes go
through `engagements.services`.
"""

import itertools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.policy import (
    Action,
    can,
    history_for,
    home_city_ids,
    is_admin,
    is_home_city,
    reads_people,
    reviews_engagements,
    visible_prefetch,
)
from accounts.services import AlreadySubmitted, claim_submission, record_submission
from cities.api.views import CITY_COLUMNS_DEFERRED
from cities.forms import OrganizationForm
from cities.models import City, Country, Organization
from cities.services import save_organization
from contacts.services import likely_duplicates, save_contact
from utilities.listing import Column, list_page
from utilities.templatetags.drafts import mark_saved

from . import exports
from .api.listing import read_related
from .api.serializers import flags_prefetch
from .filters import AgreementFilterSet, EngagementFilterSet
from .forms import (
    AgreementForm,
    EngagementForm,
    FollowUpForm,
    ParticipantFormSet,
    participant_data,
    participant_initial,
)
from .models import Agreement, Engagement, FollowUp, Participant, Review, Visibility
from .panels import record_sections
from .services import StaleEdit, complete_follow_up, save_agreement, save_engagement, save_follow_up
from .stats import engagement_total


def may_log_records(user) -> bool:
    """Staff with a home city, and admins, log records; everyone else only reads."""
    return is_admin(user) or bool(home_city_ids(user))


def require(user, action, obj) -> None:
    if not can(user, action, obj):
        raise PermissionDenied


# --- Lists ---------------------------------------------------------------------------------

ENGAGEMENT_CSV_HEADER = [
    "id",
    "title",
    "kind",
    "status",
    "city",
    "start_date",
    "end_date",
    "location_city",
    "venue",
    "counterpart_cities",
    "counterpart_organizations",
    "counterpart_countries",
    "topics",
    "visibility",
    "federal_coordination_requested",
    "review_status",
    "summary",
    "outcomes",
]


def _engagement_csv_row(engagement):
    return [
        engagement.pk,
        engagement.title,
        engagement.kind,
        engagement.status,
        engagement.city.label,
        engagement.start_date,
        engagement.end_date,
        engagement.location_city.label if engagement.location_city else "",
        engagement.venue,
        "; ".join(city.label for city in engagement.counterpart_cities.all()),
        "; ".join(org.name for org in engagement.counterpart_organizations.all()),
        "; ".join(sorted(country.iso2 for country in engagement.counterpart_countries.all())),
        "; ".join(sorted(topic.slug for topic in engagement.topics.all())),
        engagement.visibility,
        engagement.federal_coordination_requested,
        engagement.review_status,
        engagement.summary,
        engagement.outcomes,
    ]


# The list's CSV read as plain rows, in the order of ENGAGEMENT_CSV_HEADER once relations are in.
_CSV_COLUMNS = (
    "id",
    "title",
    "kind",
    "status",
    "city__name",
    "city__subdivision",
    "city__country_id",
    "start_date",
    "end_date",
    "location_city_id",
    "location_city__name",
    "location_city__subdivision",
    "location_city__country_id",
    "venue",
    "visibility",
    "federal_coordination_requested",
    "review_status",
    "summary",
    "outcomes",
)
_CSV_RELATIONS = ("counterpart_cities", "counterpart_organizations", "counterpart_countries", "topics")
_CSV_CHUNK = 2000


def _engagement_csv_rows(queryset):
    """The rows `_engagement_csv_row` gives, read without a model instance per record: a
    server-side cursor of plain rows, and per chunk of rows one read of the relations (as the
    API list reads them) and of the counterpart cities' labels and organisations' names."""
    with transaction.atomic(using=queryset.db):
        rows = queryset.prefetch_related(None).values_list(*_CSV_COLUMNS).iterator(chunk_size=_CSV_CHUNK)
        while chunk := list(itertools.islice(rows, _CSV_CHUNK)):
            related = read_related([row[0] for row in chunk], _CSV_RELATIONS, queryset.db)
            cities, organizations, countries, topics = (related[name] for name in _CSV_RELATIONS)
            labels = {
                pk: City.format_label(name, subdivision, country)
                for pk, name, subdivision, country in City.objects.using(queryset.db)
                .filter(pk__in={pk for group in cities.values() for pk in group})
                .values_list("pk", "name", "subdivision", "country_id")
            }
            names = dict(
                Organization.objects.using(queryset.db)
                .filter(pk__in={pk for group in organizations.values() for pk in group})
                .values_list("pk", "name")
            )
            for (
                pk,
                title,
                kind,
                status,
                city_name,
                city_subdivision,
                city_country,
                start_date,
                end_date,
                location_id,
                location_name,
                location_subdivision,
                location_country,
                venue,
                visibility,
                federal,
                review_status,
                summary,
                outcomes,
            ) in chunk:
                yield [
                    pk,
                    title,
                    kind,
                    status,
                    City.format_label(city_name, city_subdivision, city_country),
                    start_date,
                    end_date,
                    City.format_label(location_name, location_subdivision, location_country) if location_id else "",
                    venue,
                    "; ".join(labels[city] for city in cities.get(pk, ())),
                    "; ".join(names[organization] for organization in organizations.get(pk, ())),
                    "; ".join(countries.get(pk, ())),
                    "; ".join(topics.get(pk, ())),
                    visibility,
                    federal,
                    review_status,
                    summary,
                    outcomes,
                ]


@login_required
def engagement_list(request):
    user = request.user
    queryset = Engagement.objects.visible_to(user).order_by("-start_date", "-id")
    if request.GET.get("format") == "csv":
        queryset = queryset.select_related("city", "location_city").prefetch_related(
            "topics", "counterpart_cities", "counterpart_organizations", "counterpart_countries"
        )
    else:
        # What the rows show (the city's and the counterparts' names), without the cities' long
        # search columns: reading them made up a third of the page's time.
        queryset = (
            queryset.select_related("city")
            .defer(*(f"city__{column}" for column in CITY_COLUMNS_DEFERRED))
            .prefetch_related(Prefetch("counterpart_cities", queryset=City.objects.defer(*CITY_COLUMNS_DEFERRED)))
        )
    return list_page(
        request,
        queryset=queryset,
        filterset_class=EngagementFilterSet,
        template="engagements/engagement_list.html",
        columns=[
            Column("Title", "title"),
            Column("City"),
            Column("Kind"),
            Column("Start", "start_date"),
            Column("Counterparts"),
            Column("Status"),
            Column("Review"),
        ],
        csv_name="engagements.csv",
        csv_header=ENGAGEMENT_CSV_HEADER,
        csv_row=_engagement_csv_row,
        csv_rows=_engagement_csv_rows,
        csv_copy=exports.page_rows,
        total=lambda params: engagement_total(user, params),
        ids_first=True,
        context={"may_log": may_log_records(user), **filter_choices(request)},
    )


AGREEMENT_CSV_HEADER = [
    "id",
    "title",
    "kind",
    "status",
    "city",
    "signed_on",
    "effective_on",
    "expires_on",
    "counterpart_cities",
    "counterpart_organizations",
    "counterpart_countries",
    "topics",
    "visibility",
    "url",
    "summary",
]


def _agreement_csv_row(agreement):
    return [
        agreement.pk,
        agreement.title,
        agreement.kind,
        agreement.status,
        agreement.city.label,
        agreement.signed_on,
        agreement.effective_on,
        agreement.expires_on,
        "; ".join(city.label for city in agreement.counterpart_cities.all()),
        "; ".join(org.name for org in agreement.counterpart_organizations.all()),
        "; ".join(sorted(country.iso2 for country in agreement.counterpart_countries.all())),
        "; ".join(sorted(topic.slug for topic in agreement.topics.all())),
        agreement.visibility,
        agreement.url,
        agreement.summary,
    ]


@login_required
def agreement_list(request):
    user = request.user
    queryset = (
        Agreement.objects.visible_to(user)
        .select_related("city")
        .prefetch_related("counterpart_cities")
        .order_by("-signed_on", "title", "id")
    )
    if request.GET.get("format") == "csv":
        queryset = queryset.prefetch_related("counterpart_organizations", "counterpart_countries", "topics")
    return list_page(
        request,
        queryset=queryset,
        filterset_class=AgreementFilterSet,
        template="engagements/agreement_list.html",
        columns=[
            Column("Title", "title"),
            Column("City"),
            Column("Kind"),
            Column("Counterparts"),
            Column("Status"),
            Column("Signed", "signed_on"),
            Column("Expires", "expires_on"),
        ],
        csv_name="agreements.csv",
        csv_header=AGREEMENT_CSV_HEADER,
        csv_row=_agreement_csv_row,
        csv_copy=exports.page_rows,
        context={"may_log": may_log_records(user), **filter_choices(request)},
    )


def filter_choices(request) -> dict:
    """Choices the filter forms offer beyond the FilterSet's own: the user's home cities (and
    the city already filtered on, when it came from elsewhere) and the countries."""
    ids = set(home_city_ids(request.user))
    chosen = request.GET.get("city", "")
    if chosen.isdigit() and len(chosen) < 19:
        ids.add(int(chosen))
    return {
        "city_options": City.objects.filter(pk__in=sorted(ids)).order_by("name"),
        "home_city_ids": home_city_ids(request.user),
        "countries": Country.objects.order_by("name").values_list("iso2", "name"),
    }


# --- Details ---------------------------------------------------------------------------------


def _visible_or_none(request, queryset, pk):
    """The record `queryset` (scoped by the policy) holds; a 404 for a signed-in user if none,
    and None for an anonymous visitor, who is sent to sign in whether the id is hidden or
    missing (SPEC §2)."""
    record = queryset.filter(pk=pk).first()
    if record is None and request.user.is_authenticated:
        raise Http404
    return record


def engagement_detail(request, pk):
    """Anyone may open a public engagement's page; people and non-public history are shown only
    to those the policy lets read them."""
    user = request.user
    people = reads_people(user)
    engagement = _visible_or_none(
        request,
        Engagement.objects.visible_to(user)
        .select_related("city", "location_city", *(["created_by"] if people else []))
        .prefetch_related(
            visible_prefetch("agreement", Agreement, user),
            "counterpart_cities",
            "counterpart_organizations",
            "counterpart_countries",
            "topics",
            flags_prefetch(),
        ),
        pk,
    )
    if engagement is None:
        return redirect_to_login(request.get_full_path())
    follow_ups = (
        FollowUp.objects.visible_to(user)
        .filter(engagement=engagement)
        .select_related("assignee")
        .order_by("done_at", "due_on", "id")
    )
    reviews = Review.objects.visible_to(user).filter(engagement=engagement).select_related("reviewer")
    participants = engagement.participants.all() if can(user, Action.VIEW, Participant(engagement=engagement)) else []
    may_add_follow_up = can(user, Action.CREATE, FollowUp(engagement=engagement))
    history, history_truncated = history_for(engagement, user)
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            "engagement": engagement,
            "show_people": people,
            "may_change": can(user, Action.CHANGE, engagement),
            "participants": participants,
            "follow_ups": follow_ups,
            "reviews": reviews,
            "follow_up_form": FollowUpForm(engagement=engagement) if may_add_follow_up else None,
            "history": history,
            "history_truncated": history_truncated,
            "record_sections": record_sections(request, engagement),
            **_compliance_context(user, engagement),
        },
    )


def _compliance_context(user, record) -> dict:
    """The record's flags (prefetched through `compliance_flags`: this app does not import the
    compliance app) and whether `user` may resolve or waive them: the record's city's staff,
    liaisons and admins (SPEC §8.2)."""
    return {
        "flags": list(record.compliance_flags.all()),
        "may_decide": is_home_city(user, record.city_id) or reviews_engagements(user),
        "today": timezone.localdate(),
    }


def agreement_detail(request, pk):
    """Anyone may open a public agreement's page, as an engagement's."""
    user = request.user
    people = reads_people(user)
    agreement = _visible_or_none(
        request,
        Agreement.objects.visible_to(user)
        .select_related("city", *(["created_by"] if people else []))
        .prefetch_related(
            "counterpart_cities", "counterpart_organizations", "counterpart_countries", "topics", flags_prefetch()
        ),
        pk,
    )
    if agreement is None:
        return redirect_to_login(request.get_full_path())
    engagements = agreement.engagements.visible_to(user).select_related("city").order_by("-start_date")[:50]
    history, history_truncated = history_for(agreement, user)
    return render(
        request,
        "engagements/agreement_detail.html",
        {
            "agreement": agreement,
            "show_people": people,
            "may_change": can(user, Action.CHANGE, agreement),
            "engagements": engagements,
            "history": history,
            "history_truncated": history_truncated,
            "lapsed": agreement.is_lapsed(timezone.localdate()),
            "record_sections": record_sections(request, agreement),
            **_compliance_context(user, agreement),
        },
    )


# --- Create and edit -------------------------------------------------------------------------


class _Rejected(Exception):
    """Aborts the write transaction after the errors were put on the forms."""


def _put_errors(form, error: ValidationError, *, fallback_prefix: str = "") -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            if field in form.fields:
                form.add_error(field, messages_)
            else:
                form.add_error(None, [f"{fallback_prefix}{message}" for message in messages_])
    else:
        form.add_error(None, error.messages)


def _inline_organization(user, org_form):
    """The organisation typed into "New organisation", reusing one of the same name and country."""
    data = org_form.cleaned_data
    existing = Organization.objects.filter(name__iexact=data["name"].strip(), country=data.get("country")).first()
    if existing:
        return existing
    try:
        return save_organization(actor=user, data={**data, "name": data["name"].strip()})
    except ValidationError as error:
        _put_errors(org_form, error)
        raise _Rejected from error


def _with_new_contacts(request, data, participants: list[dict]) -> list[dict]:
    """Participants ticked "Add to contacts" become contacts of the engagement's city and are
    linked to them; one whose name and organisation the city already keeps is linked to that
    contact instead, and the person is told (SPEC §8.4: likely duplicates are pointed out)."""
    rows = []
    for row in participants:
        row = dict(row)
        if row.pop("add_contact", False) and row.get("contact") is None:
            existing = likely_duplicates(
                home_city_id=getattr(data.get("city"), "pk", None),
                name=row["name"],
                organization=row.get("organization", ""),
            ).first()
            if existing is not None:
                row["contact"] = existing
                messages.info(request, f"{row['name']} was already in the contacts: linked to {existing}.")
            else:
                try:
                    row["contact"] = save_contact(
                        actor=request.user,
                        data={
                            "home_city": data.get("city"),
                            "name": row["name"],
                            "title": row.get("title", ""),
                            "organization": row.get("organization", ""),
                        },
                        confirm_duplicate=True,
                    )
                except PermissionDenied as error:
                    raise ValidationError(
                        {"participants": [f"{row['name']}: you may add contacts only for your home cities."]}
                    ) from error
        rows.append(row)
    return rows


def _record_form(request, *, form_class, record, save, template, noun):
    user = request.user
    if record is None:
        if not may_log_records(user):
            raise PermissionDenied
    else:
        require(user, Action.CHANGE, record)
    with_participants = form_class is EngagementForm
    conflict = None

    if request.method == "POST":
        form = form_class(request.POST, user=user, instance=record)
        org_form = OrganizationForm(request.POST, prefix="organization")
        formset = ParticipantFormSet(request.POST, prefix="participants") if with_participants else None
        wants_org = bool(request.POST.get("organization-name", "").strip())
        checks = [form.is_valid(), formset.is_valid() if formset else True, org_form.is_valid() if wants_org else True]
        if all(checks):
            try:
                with transaction.atomic():
                    claim = (
                        claim_submission(user=user, token=form.cleaned_data.get("submission"))
                        if record is None
                        else None
                    )
                    data = form.service_data()
                    if wants_org:
                        organization = _inline_organization(user, org_form)
                        if organization not in data["counterpart_organizations"]:
                            data["counterpart_organizations"].append(organization)
                    if formset is not None:
                        data["participants"] = _with_new_contacts(request, data, participant_data(formset))
                    saved = save(
                        actor=user, data=data, record=record, expected_version=form.cleaned_data.get("version")
                    )
                    record_submission(claim, reverse(f"{noun}-detail", args=[saved.pk]))
            except AlreadySubmitted as repeat:
                messages.info(request, f"This form was already sent: here is the {noun} it logged.")
                return redirect(repeat.record_url or f"{noun}-list")
            except StaleEdit as stale:
                conflict = _conflict(form, stale.current)
            except ValidationError as error:
                _put_errors(form, error)
            except _Rejected:
                pass
            else:
                mark_saved(request)
                verb = "saved" if record else "logged"
                messages.success(request, f"{noun.capitalize()} “{saved.title}” {verb}.")
                return redirect(f"{noun}-detail", saved.pk)
        if not wants_org:
            # Only what was typed is kept; an untouched panel must not show "required" errors.
            org_form = OrganizationForm(
                prefix="organization",
                initial={name: request.POST.get(f"organization-{name}", "") for name in OrganizationForm.base_fields},
            )
    else:
        initial = {}
        if record is None:
            initial = {"visibility": Visibility.INTERNAL, "start_date": timezone.localdate(), "status": "planned"}
        form = form_class(user=user, instance=record, initial=initial)
        org_form = OrganizationForm(prefix="organization")
        formset = (
            ParticipantFormSet(prefix="participants", initial=participant_initial(record) if record else None)
            if with_participants
            else None
        )
    forms_with_errors = [f for f in (form, org_form, *(formset.forms if formset else ())) if f.is_bound and f.errors]
    return render(
        request,
        template,
        {
            "forms_with_errors": forms_with_errors,
            "error_count": sum(len(f.errors) for f in forms_with_errors),
            "form": form,
            "org_form": org_form,
            "formset": formset,
            "record": record,
            "conflict": conflict,
            "noun": noun,
        },
    )


def _conflict(form, current) -> dict:
    """What to tell someone whose edit came after another person's save; their input is kept,
    and the form now carries the new version, so saving again is a deliberate overwrite."""
    latest = current.history.select_related("history_user").order_by("-history_date").first()
    form.data = form.data.copy()
    form.data["version"] = str(current.version)
    return {
        "who": latest.history_user.display_name() if latest and latest.history_user else "someone",
        "when": latest.history_date if latest else current.updated_at,
        "changes": form.changes_since(current),
    }


def _save_engagement(*, actor, data, record, expected_version):
    return save_engagement(actor=actor, data=data, engagement=record, expected_version=expected_version)


def _save_agreement(*, actor, data, record, expected_version):
    return save_agreement(actor=actor, data=data, agreement=record, expected_version=expected_version)


@login_required
def engagement_create(request):
    return _record_form(
        request,
        form_class=EngagementForm,
        record=None,
        save=_save_engagement,
        template="engagements/engagement_form.html",
        noun="engagement",
    )


@login_required
def engagement_edit(request, pk):
    engagement = get_object_or_404(Engagement.objects.visible_to(request.user), pk=pk)
    return _record_form(
        request,
        form_class=EngagementForm,
        record=engagement,
        save=_save_engagement,
        template="engagements/engagement_form.html",
        noun="engagement",
    )


@login_required
def agreement_create(request):
    return _record_form(
        request,
        form_class=AgreementForm,
        record=None,
        save=_save_agreement,
        template="engagements/agreement_form.html",
        noun="agreement",
    )


@login_required
def agreement_edit(request, pk):
    agreement = get_object_or_404(Agreement.objects.visible_to(request.user), pk=pk)
    return _record_form(
        request,
        form_class=AgreementForm,
        record=agreement,
        save=_save_agreement,
        template="engagements/agreement_form.html",
        noun="agreement",
    )


# --- Follow-ups ------------------------------------------------------------------------------


def _visible_engagement(user, pk):
    return get_object_or_404(Engagement.objects.visible_to(user).select_related("city"), pk=pk)


def _follow_up_form(request, *, engagement, follow_up):
    user = request.user
    require(user, Action.CHANGE if follow_up else Action.CREATE, follow_up or FollowUp(engagement=engagement))
    form = FollowUpForm(request.POST or None, engagement=engagement, instance=follow_up)
    if request.method == "POST" and form.is_valid():
        try:
            save_follow_up(actor=user, follow_up=follow_up, data={**form.cleaned_data, "engagement": engagement})
        except ValidationError as error:
            _put_errors(form, error)
        else:
            mark_saved(request)
            messages.success(request, "Follow-up saved.")
            return redirect(reverse("engagement-detail", args=[engagement.pk]) + "#follow-ups")
    return render(
        request, "engagements/follow_up_form.html", {"form": form, "engagement": engagement, "follow_up": follow_up}
    )


@login_required
def follow_up_create(request, pk):
    return _follow_up_form(request, engagement=_visible_engagement(request.user, pk), follow_up=None)


def _visible_follow_up(user, pk):
    return get_object_or_404(FollowUp.objects.visible_to(user).select_related("engagement", "engagement__city"), pk=pk)


@login_required
def follow_up_edit(request, pk):
    follow_up = _visible_follow_up(request.user, pk)
    return _follow_up_form(request, engagement=follow_up.engagement, follow_up=follow_up)


@login_required
@require_POST
def follow_up_done(request, pk):
    follow_up = _visible_follow_up(request.user, pk)
    require(request.user, Action.CHANGE, follow_up)
    complete_follow_up(actor=request.user, follow_up=follow_up)
    messages.success(request, f"Marked done: {follow_up}")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("engagement-detail", follow_up.engagement_id)
