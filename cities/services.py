"""Writes of city-side records: offices, organisations and network memberships.

`write_record` is the one path every domain write takes (these services and those of
`engagements.services` use it): it checks the policy, validates against the model and its
database constraints, saves inside a transaction and records who made the change in history.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.text import slugify

from accounts.policy import Action, can

from .matching import index_cities
from .models import City, InternationalAffairsOffice, Network, NetworkMembership, Organization
from .text import fold, to_ascii


def _reject_nul(data: Mapping[str, Any]) -> None:
    """PostgreSQL refuses NUL in text; say so as a validation error rather than fail later."""
    bad = {
        key: ["Text may not contain NUL characters."]
        for key, value in data.items()
        if isinstance(value, str) and "\x00" in value
    }
    if bad:
        raise ValidationError(bad)


def apply_fields(instance: models.Model, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be set."] for name in sorted(unknown)})
    _reject_nul(data)
    for name, value in data.items():
        setattr(instance, name, value)


def write_record(
    *,
    actor,
    instance: models.Model,
    data: Mapping[str, Any],
    allowed: Iterable[str],
    check: Callable[[models.Model], None] | None = None,
) -> models.Model:
    """Create or change `instance` with `data` (model field names), as `actor`; `check` adds the
    caller's own rules, run on the validated instance before it is saved.

    The policy is asked twice on a change: may the actor change the record as it is, and may
    they own it as it will be (moving a record into another city's hands is not a change of one's
    own record). Raises PermissionDenied or ValidationError; writes nothing then.
    """
    creating = instance.pk is None
    if not creating and not can(actor, Action.CHANGE, instance):
        raise PermissionDenied
    apply_fields(instance, data, allowed)
    if not can(actor, Action.CREATE if creating else Action.CHANGE, instance):
        raise PermissionDenied
    # Every broken rule is reported at once: the model's and the caller's.
    errors: dict = {}
    try:
        instance.full_clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if check is not None:
        try:
            check(instance)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    instance._history_user = actor if getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        # Another writer saved a conflicting record between the check and this write: checked
        # again, the conflict is a field error, as it would have been a moment earlier.
        instance.validate_unique()
        instance.validate_constraints()
        raise
    return instance


def delete_record(*, actor, instance: models.Model) -> None:
    if not can(actor, Action.DELETE, instance):
        raise PermissionDenied
    instance._history_user = actor if getattr(actor, "is_authenticated", False) else None
    instance.delete()


OFFICE_FIELDS = [
    "city",
    "name",
    "established_on",
    "head_name",
    "head_title",
    "staff_count",
    "website",
    "email",
    "phone",
    "mandate",
    "is_active",
]
ORGANIZATION_FIELDS = ["name", "kind", "country", "city", "website"]
MEMBERSHIP_FIELDS = ["network", "city", "role", "joined_on", "left_on", "notes"]


@transaction.atomic
def save_office(
    *, actor, data: Mapping[str, Any], office: InternationalAffairsOffice | None = None
) -> InternationalAffairsOffice:
    return write_record(actor=actor, instance=office or InternationalAffairsOffice(), data=data, allowed=OFFICE_FIELDS)


@transaction.atomic
def save_organization(*, actor, data: Mapping[str, Any], organization: Organization | None = None) -> Organization:
    data = dict(data)
    city = data.get("city")
    if city is not None and not data.get("country"):
        data["country"] = city.country
    return write_record(actor=actor, instance=organization or Organization(), data=data, allowed=ORGANIZATION_FIELDS)


@transaction.atomic
def save_membership(
    *, actor, data: Mapping[str, Any], membership: NetworkMembership | None = None
) -> NetworkMembership:
    return write_record(actor=actor, instance=membership or NetworkMembership(), data=data, allowed=MEMBERSHIP_FIELDS)


@transaction.atomic
def delete_membership(*, actor, membership: NetworkMembership) -> None:
    delete_record(actor=actor, instance=membership)


@transaction.atomic
def delete_office(*, actor, office: InternationalAffairsOffice) -> None:
    delete_record(actor=actor, instance=office)


CITY_FIELDS = ["name", "country", "subdivision", "population", "latitude", "longitude", "timezone", "geonames_id"]
NETWORK_FIELDS = ["slug", "name", "acronym", "founded_year", "headquarters", "website", "description"]


@transaction.atomic
def save_city(*, actor, data: Mapping[str, Any], city: City | None = None) -> City:
    """Create or change a city (admins); its ASCII and search names follow its name, and a new
    city gets a unique slug."""
    data = dict(data)
    city = city or City()
    if "name" in data:
        name = data["name"] or ""
        data["ascii_name"] = to_ascii(name) or name
        data["search_name"] = fold(name)
    if city.pk is None:
        country = data.get("country")
        base = (
            slugify(f"{data.get('ascii_name', '')} {data.get('subdivision') or getattr(country, 'iso2', '')}")[:200]
            or "city"
        )
        slug, suffix = base, 1
        while City.objects.filter(slug=slug).exists():
            suffix += 1
            slug = f"{base}-{suffix}"
        data["slug"] = slug
    city = write_record(
        actor=actor, instance=city, data=data, allowed=[*CITY_FIELDS, "ascii_name", "search_name", "slug"]
    )
    # The matcher's keys follow its names and population (`cities.matching`).
    index_cities([city])
    return city


@transaction.atomic
def save_network(*, actor, data: Mapping[str, Any], network: Network | None = None) -> Network:
    """Create or change a network (admins); `topics`, when given, replaces its topics."""
    data = dict(data)
    topics = data.pop("topics", None)
    network = write_record(actor=actor, instance=network or Network(), data=data, allowed=NETWORK_FIELDS)
    if topics is not None:
        network.topics.set(topics)
    return network
