"""Writes of agreements, engagements, follow-ups and reviews.

Every caller (web forms, the API, the importer, the admin, seeding) goes through these functions,
so validation, permission, optimistic locking, derived counterpart countries and history are
the same everywhere.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from accounts.policy import Action, can
from cities.models import City, Country, Organization, Topic
from cities.services import delete_record, write_record
from notifications.services import needs_liaison_attention
from notifications.tasks import engagement_changed, review_added

from .models import Agreement, CityRecord, Engagement, FollowUp, Participant, Review

AGREEMENT_FIELDS = [
    "city", "title", "kind", "status", "signed_on", "effective_on", "expires_on",
    "summary", "url", "visibility", "external_id", "is_demo",
]
ENGAGEMENT_FIELDS = [
    "city", "title", "kind", "status", "start_date", "end_date", "location_city", "venue",
    "summary", "outcomes", "agreement", "federal_coordination_requested", "visibility",
    "external_id", "is_demo",
]
RELATION_FIELDS = ["counterpart_cities", "counterpart_organizations", "named_countries", "topics"]
FOLLOW_UP_FIELDS = ["engagement", "description", "due_on", "assignee", "done_at"]


class StaleEdit(Exception):
    """Someone saved the record after the caller read it; nothing was written."""

    def __init__(self, current: CityRecord):
        super().__init__(f"{current._meta.verbose_name} {current.pk} is at version {current.version}")
        self.current = current


def _split(data: Mapping[str, Any]) -> tuple[dict, dict, list | None]:
    scalars, relations, participants = {}, {}, None
    for key, value in data.items():
        if key in RELATION_FIELDS:
            relations[key] = list(value or [])
        elif key == "participants":
            participants = list(value or [])
        else:
            scalars[key] = value
    return scalars, relations, participants


def _check_counterparts(record: CityRecord, scalars: Mapping[str, Any], relations: Mapping[str, list]) -> None:
    city = scalars["city"] if "city" in scalars else getattr(record, "city", None)
    cities = relations.get("counterpart_cities")
    if cities is None:
        cities = list(record.counterpart_cities.all()) if record.pk else []
    if city is not None and any(other.pk == city.pk for other in cities):
        raise ValidationError({"counterpart_cities": ["A record's own city cannot be its counterpart."]})


def _derive_countries(record: CityRecord) -> None:
    """Counterpart countries are those named directly plus those of every counterpart."""
    codes = set(record.named_countries.values_list("iso2", flat=True))
    codes.update(record.counterpart_cities.values_list("country_id", flat=True))
    codes.update(
        record.counterpart_organizations.exclude(country__isnull=True).values_list("country_id", flat=True)
    )
    record.counterpart_countries.set(sorted(codes))


def _save_city_record(
    model: type[CityRecord],
    *,
    actor,
    record: CityRecord | None,
    data: Mapping[str, Any],
    allowed: Sequence[str],
    expected_version: int | None,
) -> CityRecord:
    scalars, relations, participants = _split(data)
    if record is None:
        record = model(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    else:
        # Lock the row so the version check and the write are one step (no lost update).
        record = model.objects.select_for_update().get(pk=record.pk)
        if expected_version is not None and record.version != expected_version:
            raise StaleEdit(record)
        record.version += 1
    _check_counterparts(record, scalars, relations)
    creating = record.pk is None
    # One history entry per write, taken once the relations are set, rather than one per
    # relation changed.
    record.skip_history_when_saving = True
    try:
        record = write_record(actor=actor, instance=record, data=scalars, allowed=allowed)
        for name, values in relations.items():
            getattr(record, name).set(values)
        _derive_countries(record)
        if participants is not None and model is Engagement:
            _replace_participants(record, participants)
    finally:
        del record.skip_history_when_saving
    post_save.send(sender=model, instance=record, created=creating, raw=False, using=record._state.db, update_fields=None)
    return record


def _replace_participants(engagement: Engagement, participants: Iterable[Mapping[str, Any]]) -> None:
    engagement.participants.all().delete()
    rows = []
    for index, item in enumerate(participants):
        participant = Participant(engagement=engagement, **{k: v for k, v in item.items() if k != "id"})
        try:
            participant.full_clean(exclude=["engagement"])
        except ValidationError as error:
            raise ValidationError({"participants": [f"Participant {index + 1}: {m}" for m in error.messages]}) from error
        rows.append(participant)
    Participant.objects.bulk_create(rows)


@transaction.atomic
def save_agreement(
    *, actor, data: Mapping[str, Any], agreement: Agreement | None = None, expected_version: int | None = None
) -> Agreement:
    """Create an agreement (no `agreement`) or change one. `data` holds model field names;
    relations take lists of instances. Raises StaleEdit, PermissionDenied or ValidationError."""
    return _save_city_record(
        Agreement, actor=actor, record=agreement, data=data, allowed=AGREEMENT_FIELDS, expected_version=expected_version
    )


@transaction.atomic
def save_engagement(
    *, actor, data: Mapping[str, Any], engagement: Engagement | None = None, expected_version: int | None = None
) -> Engagement:
    """Create an engagement (no `engagement`) or change one; `participants` is a list of dicts
    that replaces the current list. Raises StaleEdit, PermissionDenied or ValidationError."""
    record = _save_city_record(
        Engagement, actor=actor, record=engagement, data=data, allowed=ENGAGEMENT_FIELDS, expected_version=expected_version
    )
    if needs_liaison_attention(record):
        transaction.on_commit(lambda: engagement_changed.delay(record.pk))
    return record


@transaction.atomic
def delete_city_record(*, actor, record: CityRecord, expected_version: int | None = None) -> None:
    current = type(record).objects.select_for_update().get(pk=record.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(current)
    delete_record(actor=actor, instance=current)


@transaction.atomic
def save_follow_up(*, actor, data: Mapping[str, Any], follow_up: FollowUp | None = None) -> FollowUp:
    return write_record(actor=actor, instance=follow_up or FollowUp(), data=data, allowed=FOLLOW_UP_FIELDS)


@transaction.atomic
def complete_follow_up(*, actor, follow_up: FollowUp) -> FollowUp:
    return save_follow_up(actor=actor, follow_up=follow_up, data={"done_at": timezone.now()})


@transaction.atomic
def add_review(*, reviewer, engagement: Engagement, decision: str, comment: str = "") -> Review:
    """Record a liaison's decision; it becomes the engagement's review status."""
    if not can(reviewer, Action.REVIEW, engagement):
        raise PermissionDenied
    review = Review(engagement=engagement, reviewer=reviewer, decision=decision, comment=comment)
    review.full_clean()
    review._history_user = reviewer
    review.save()
    Engagement.objects.filter(pk=engagement.pk).update(review_status=decision)
    engagement.review_status = decision
    transaction.on_commit(lambda: review_added.delay(review.pk))
    return review


def resolve_relations(
    *,
    counterpart_cities: Iterable[int] = (),
    counterpart_organizations: Iterable[int] = (),
    named_countries: Iterable[str] = (),
    topics: Iterable[str] = (),
) -> dict[str, list]:
    """Turn ids, iso2 codes and topic slugs into instances, saying which ones do not exist."""
    wanted = {
        "counterpart_cities": (City, "pk", list(counterpart_cities)),
        "counterpart_organizations": (Organization, "pk", list(counterpart_organizations)),
        "named_countries": (Country, "iso2", list(named_countries)),
        "topics": (Topic, "slug", list(topics)),
    }
    result, errors = {}, {}
    for name, (model, key, values) in wanted.items():
        found = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": values})}
        missing = [value for value in values if value not in found]
        if missing:
            errors[name] = [f"Unknown: {', '.join(map(str, missing))}."]
        result[name] = [found[value] for value in values if value in found]
    if errors:
        raise ValidationError(errors)
    return result
