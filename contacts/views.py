"""Pages of the contact directory (SPEC §8.4): the list, a contact's page with the engagements
with them that the reader may see, the create and edit forms, and the participants' type-ahead.

Contacts are people's data: internal readers only (a partner is refused the directory, and a
contact's page does not exist for them); the home city's staff and admins keep them."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.policy import Action, can, history_for, home_city_ids, is_admin, reads_people, restrict
from cities.forms import QUERY_SUFFIX
from cities.models import City, Country
from utilities.listing import Column, list_page
from utilities.templatetags.drafts import mark_saved

from .filters import ContactFilterSet
from .forms import SUGGESTION_LIMIT, ContactForm, search_contacts
from .models import Contact
from .services import LikelyDuplicate, save_contact

# A picker's field name, as a participant row of a formset names it (`participants-0-contact`).
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,80}$")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# The engagements a contact's page lists, newest first.
ENGAGEMENTS_SHOWN = 200

CSV_HEADER = ["id", "name", "title", "organization", "city", "country", "email", "phone", "languages", "home_city"]


def _require_reader(user) -> None:
    if not reads_people(user):
        raise PermissionDenied


def _visible_contacts(user):
    return restrict(Contact.objects.all(), user)


def _csv_row(contact):
    return [
        contact.pk,
        contact.name,
        contact.title,
        contact.organization,
        contact.city.label if contact.city else "",
        contact.country_id or "",
        contact.email,
        contact.phone,
        contact.languages,
        contact.home_city.label,
    ]


def may_keep_contacts(user) -> bool:
    return is_admin(user) or bool(home_city_ids(user))


@login_required
def contact_list(request):
    user = request.user
    _require_reader(user)
    queryset = _visible_contacts(user).select_related("home_city", "city", "country").order_by("name", "id")
    return list_page(
        request,
        queryset=queryset,
        filterset_class=ContactFilterSet,
        template="contacts/contact_list.html",
        columns=[Column("Name"), Column("Organisation"), Column("Based in"), Column("Kept by")],
        csv_name="contacts.csv",
        csv_header=CSV_HEADER,
        csv_row=_csv_row,
        context={
            "may_create": may_keep_contacts(user),
            "home_cities": City.objects.filter(pk__in=sorted(home_city_ids(user))).order_by("name"),
            "countries": Country.objects.order_by("name").only("iso2", "name"),
        },
    )


def _visible_contact(user, pk) -> Contact:
    if not reads_people(user):
        # A contact does not exist for those who may not read people's data.
        raise Http404
    return get_object_or_404(_visible_contacts(user).select_related("home_city", "city", "country"), pk=pk)


@login_required
def contact_detail(request, pk):
    user = request.user
    contact = _visible_contact(user, pk)
    # The engagements with them, through their participants: only those on engagements the
    # reader may see (the policy's rule for participants).
    participations = list(
        restrict(contact.participants.all(), user)
        .select_related("engagement", "engagement__city")
        .order_by("-engagement__start_date", "-engagement_id", "id")[: ENGAGEMENTS_SHOWN + 1]
    )
    history, truncated = history_for(contact, user)
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "participations": participations[:ENGAGEMENTS_SHOWN],
            "more_engagements": len(participations) > ENGAGEMENTS_SHOWN,
            "may_change": can(user, Action.CHANGE, contact),
            "history": history,
            "history_truncated": truncated,
        },
    )


def _contact_form(request, contact):
    user = request.user
    if contact is None:
        _require_reader(user)
        if not may_keep_contacts(user):
            raise PermissionDenied
    elif not can(user, Action.CHANGE, contact):
        raise PermissionDenied
    form = ContactForm(request.POST or None, user=user, instance=contact)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_contact(
                actor=user,
                data=form.service_data(),
                contact=contact,
                confirm_duplicate=form.cleaned_data.get("confirm_duplicate", False),
                expected_version=form.cleaned_data.get("version"),
            )
        except LikelyDuplicate as error:
            duplicates = error.duplicates
            form.add_error(
                None,
                "A contact with this name and organisation is already kept for this city. "
                "Open the existing one below, or tick the box to add a new contact anyway.",
            )
        except PermissionDenied:
            form.add_error("home_city", "You keep the contacts of your own home cities only.")
        except ValidationError as error:
            for name, errors in getattr(error, "message_dict", {None: error.messages}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            mark_saved(request)
            messages.success(request, f"Contact “{saved.name}” saved.")
            return redirect("contact-detail", saved.pk)
    forms_with_errors = [form] if form.is_bound and form.errors else []
    return render(
        request,
        "contacts/contact_form.html",
        {
            "form": form,
            "contact": contact,
            "duplicates": duplicates,
            "forms_with_errors": forms_with_errors,
            "error_count": len(form.errors) if forms_with_errors else 0,
        },
    )


@login_required
def contact_create(request):
    return _contact_form(request, None)


@login_required
def contact_edit(request, pk):
    return _contact_form(request, _visible_contact(request.user, pk))


@never_cache
@require_GET
@login_required
def contact_search(request):
    """The participants' type-ahead: contacts whose name or organisation contains the words typed."""
    _require_reader(request.user)
    field, query = "q", request.GET.get("q", "")
    for key, value in request.GET.items():
        if key.endswith(QUERY_SUFFIX) and FIELD_NAME.match(key[: -len(QUERY_SUFFIX)]):
            field, query = key[: -len(QUERY_SUFFIX)], value
            break
    query = CONTROL_CHARACTERS.sub("", query).strip()[:200]
    results = list(search_contacts(query, _visible_contacts(request.user))[:SUGGESTION_LIMIT]) if query else []
    return render(
        request, "widgets/suggestions.html", {"results": results, "q": query, "listbox": f"id_{field}_listbox"}
    )
