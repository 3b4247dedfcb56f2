"""Writes of contacts: through `cities.services.write_record`, so the policy (the home city's
staff and admins), the model's validation and history are those of every other record."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from accounts.policy import Action, can
from cities.services import write_record

from .models import Contact, duplicate_key

CONTACT_FIELDS = [
    "home_city",
    "name",
    "title",
    "organization",
    "city",
    "country",
    "email",
    "phone",
    "languages",
    "notes",
]


class LikelyDuplicate(ValidationError):
    """The new contact has the name and organisation of one (or more) already kept by the same
    home city. Nothing was written; `duplicates` are the existing ones."""

    def __init__(self, duplicates: list[Contact]):
        self.duplicates = duplicates
        names = "; ".join(f"#{c.pk} {c}" for c in duplicates[:5])
        super().__init__(
            {
                "name": [
                    f"{len(duplicates)} contact(s) of this city already have this name and organisation ({names}). "
                    "Use the existing contact, or confirm that this is someone else."
                ]
            },
            code="likely_duplicate",
        )


def likely_duplicates(*, home_city_id, name: str, organization: str = "", exclude_pk=None) -> QuerySet:
    """Contacts of the same home city whose name and organisation fold to the same keys."""
    if not home_city_id or not duplicate_key(name):
        return Contact.objects.none()
    found = Contact.objects.filter(
        home_city_id=home_city_id,
        name_key=duplicate_key(name)[:200],
        organization_key=duplicate_key(organization)[:255],
    )
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return found.select_related("home_city").order_by("pk")


@transaction.atomic
def save_contact(
    *,
    actor,
    data: Mapping[str, Any],
    contact: Contact | None = None,
    confirm_duplicate: bool = False,
    expected_version: int | None = None,
) -> Contact:
    """Create a contact (no `contact`) or change one. A new contact with the name and organisation
    of an existing one of the same home city is refused with LikelyDuplicate unless
    `confirm_duplicate`. Raises PermissionDenied or ValidationError; writes nothing then."""
    data = dict(data)
    if contact is None:
        instance = Contact(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    else:
        instance = Contact.objects.select_for_update().get(pk=contact.pk)
        if expected_version is not None and instance.version != expected_version:
            raise ValidationError(
                {"version": ["Someone saved this contact after you opened it: reload it and make your change again."]}
            )
        instance.version += 1
    city = data.get("city")
    if city is not None and not data.get("country") and not (instance.country_id and "country" not in data):
        data["country"] = city.country
    if contact is None and not confirm_duplicate:
        home_city = data.get("home_city")
        duplicates = list(
            likely_duplicates(
                home_city_id=getattr(home_city, "pk", None),
                name=data.get("name") or "",
                organization=data.get("organization") or "",
            )
        )
        # Told only to those who may create the contact at all: it names existing ones.
        if duplicates and can(actor, Action.CREATE, Contact(home_city=home_city)):
            raise LikelyDuplicate(duplicates)
    return write_record(actor=actor, instance=instance, data=data, allowed=CONTACT_FIELDS)
