"""Pages for city-side records: the type-ahead endpoints, inline organisations, network
memberships and the international-affairs office profile."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.policy import Action, can, history_for, home_city_ids, is_admin
from utilities.listing import Column, list_page
from utilities.sessions import keep_session_as_is
from utilities.templatetags.drafts import mark_saved

from . import matching
from .filters import MembershipFilterSet
from .forms import (
    QUERY_SUFFIX,
    SUGGESTION_LIMIT,
    MembershipForm,
    OfficeForm,
    OrganizationForm,
    search_organizations,
)
from .models import City, InternationalAffairsOffice, Network, NetworkMembership, Organization
from .services import save_membership, save_office, save_organization

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,60}$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _typed_query(request) -> tuple[str, str]:
    """The text typed into a picker (sent under its own name, `<field>_query`) or `?q=`, without
    the control characters no name has (PostgreSQL refuses NUL in a query)."""
    for key, value in request.GET.items():
        if key.endswith(QUERY_SUFFIX) and FIELD_NAME.match(key[: -len(QUERY_SUFFIX)]):
            return key[: -len(QUERY_SUFFIX)], _printable(value)
    return "q", _printable(request.GET.get("q", ""))


def _printable(value: str) -> str:
    return CONTROL_CHARACTERS.sub("", value).strip()[:200]


def _suggestions(request, results, field, query):
    response = render(
        request,
        "widgets/suggestions.html",
        {"results": results, "q": query, "listbox": f"id_{field}_listbox"},
    )
    # One answer per keystroke: the page typed on has just refreshed the session.
    return keep_session_as_is(response)


@never_cache
@require_GET
@login_required
def city_search(request):
    """Type-ahead over every city: a word of any of its names (any script, accents and case
    ignored) starting with what was typed, largest first (`cities.matching`). Queries: the
    session, the user, the matching ids, their cities."""
    field, query = _typed_query(request)
    # Only what a suggestion shows: the alternate names would carry kilobytes a row.
    cities = City.objects.select_related("country").only(
        "name", "subdivision", "population", "geonames_id", "country__name"
    )
    results = matching.suggest(query, SUGGESTION_LIMIT, cities) if query else []
    return _suggestions(request, results, field, query)


@never_cache
@require_GET
@login_required
def organization_search(request):
    field, query = _typed_query(request)
    results = list(search_organizations(query)[:SUGGESTION_LIMIT]) if query else []
    return _suggestions(request, results, field, query)


@login_required
def organization_create(request):
    """A new counterpart organisation. From a record form (htmx) it answers with the panel,
    emptied, and the new organisation added to the form's chosen counterparts."""
    user = request.user
    if not can(user, Action.CREATE, Organization(name="")):
        raise PermissionDenied
    # The record-form field the new organisation is added to (the only one there is).
    field = "counterpart_organizations"
    form = OrganizationForm(request.POST or None, prefix="organization")
    created = None
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data, "name": form.cleaned_data["name"].strip()}
        created = Organization.objects.filter(name__iexact=data["name"], country=data.get("country")).first()
        if created is None:
            try:
                created = save_organization(actor=user, data=data)
            except ValidationError as error:
                for name, errors in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
        if created is not None and not request.htmx:
            messages.success(request, f"Organisation “{created.name}” added.")
            target = request.GET.get("next", "")
            if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                return redirect(target)
            return redirect("engagement-list")
    if request.htmx:
        return render(
            request,
            "cities/organization_panel.html",
            {
                "org_form": OrganizationForm(prefix="organization") if created else form,
                "created": created,
                "field": field,
            },
        )
    return render(request, "cities/organization_form.html", {"form": form})


# --- Memberships ---------------------------------------------------------------------------------

MEMBERSHIP_CSV_HEADER = ["id", "network", "city", "role", "joined_on", "left_on", "notes"]


def _membership_csv_row(membership):
    return [
        membership.pk,
        membership.network.name,
        membership.city.label,
        membership.role,
        membership.joined_on,
        membership.left_on,
        membership.notes,
    ]


@login_required
def membership_list(request):
    user = request.user
    queryset = NetworkMembership.objects.select_related("network", "city").order_by("network__name", "city__name", "id")
    return list_page(
        request,
        queryset=queryset,
        filterset_class=MembershipFilterSet,
        template="cities/membership_list.html",
        columns=[
            Column("Network"),
            Column("City"),
            Column("Role"),
            Column("Joined", "joined_on"),
            Column("Left", "left_on"),
        ],
        csv_name="memberships.csv",
        csv_header=MEMBERSHIP_CSV_HEADER,
        csv_row=_membership_csv_row,
        context={
            "may_log": is_admin(user) or bool(home_city_ids(user)),
            "networks": Network.objects.order_by("name").only("slug", "name", "acronym"),
            "home_cities": City.objects.filter(pk__in=sorted(home_city_ids(user))).order_by("name"),
        },
    )


@login_required
def membership_detail(request, pk):
    membership = get_object_or_404(NetworkMembership.objects.select_related("network", "city"), pk=pk)
    history, truncated = history_for(membership, request.user)
    return render(
        request,
        "cities/membership_detail.html",
        {
            "membership": membership,
            "may_change": can(request.user, Action.CHANGE, membership),
            "history": history,
            "history_truncated": truncated,
        },
    )


def _membership_form(request, membership):
    user = request.user
    if membership is None:
        if not (is_admin(user) or home_city_ids(user)):
            raise PermissionDenied
    elif not can(user, Action.CHANGE, membership):
        raise PermissionDenied
    initial = {}
    if membership is not None:
        initial = {
            "city": membership.city_id,
            "network": membership.network_id,
            "role": membership.role,
            "joined_on": membership.joined_on,
            "left_on": membership.left_on,
            "notes": membership.notes,
        }
    elif len(home_city_ids(user)) == 1:
        initial = {"city": next(iter(home_city_ids(user)))}
    form = MembershipForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_membership(actor=user, data=form.cleaned_data, membership=membership)
        except ValidationError as error:
            for name, errors in getattr(error, "message_dict", {None: error.messages}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            mark_saved(request)
            messages.success(request, f"Membership saved: {saved}.")
            return redirect("membership-detail", saved.pk)
    return render(request, "cities/membership_form.html", {"form": form, "membership": membership})


@login_required
def membership_create(request):
    return _membership_form(request, None)


@login_required
def membership_edit(request, pk):
    membership = get_object_or_404(NetworkMembership.objects.select_related("network", "city"), pk=pk)
    return _membership_form(request, membership)


# --- Office profile --------------------------------------------------------------------------------


@login_required
def my_office(request):
    """Staff land on their city's office; with several home cities they choose one."""
    user = request.user
    cities = list(City.objects.filter(Q(pk__in=sorted(home_city_ids(user)))).select_related("office").order_by("name"))
    if len(cities) == 1:
        return redirect("office-edit", cities[0].slug)
    return render(request, "cities/office_choose.html", {"cities": cities})


@login_required
def office_edit(request, slug):
    user = request.user
    city = get_object_or_404(City, slug=slug)
    office = InternationalAffairsOffice.objects.filter(city=city).first()
    probe = office or InternationalAffairsOffice(city=city)
    if not can(user, Action.CHANGE if office else Action.CREATE, probe):
        raise PermissionDenied
    form = OfficeForm(request.POST or None, instance=office)
    if request.method == "POST" and form.is_valid():
        try:
            save_office(actor=user, office=office, data={**form.cleaned_data, "city": city})
        except ValidationError as error:
            for name, errors in getattr(error, "message_dict", {None: error.messages}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            mark_saved(request)
            messages.success(request, f"Office profile of {city.name} saved.")
            return redirect("office-edit", city.slug)
    history, truncated = history_for(office, request.user) if office else ([], False)
    return render(
        request,
        "cities/office_form.html",
        {"form": form, "city": city, "office": office, "history": history, "history_truncated": truncated},
    )
