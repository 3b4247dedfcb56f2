"""Writes of agreements, engagements, follow-ups and reviews: the one write path.

Every caller (web forms, the API, the importer, the admin, seeding) goes through these functions
or, for thousands of records at once, through `bulk.save_in_bulk`, so validation, permission,
optimistic locking, derived counterpart countries, history and events are the same everywhere.
The models refuse writes made anywhere else (see `write_path`). What follows from a write
(alerts, and whatever subscribes later) hears of it through `events.records_written`.
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from accounts.policy import Action, can
from cities.selectors import resolve_relations
from cities.services import delete_record, write_record

from . import events
from .bulk import BulkItem, BulkOutcome, BulkPlan, plan_in_bulk, prepare_planned, save_in_bulk, write_planned
from .models import Agreement, CityRecord, Engagement, FollowUp, Participant, Review
from .rules import RELATION_FIELDS, check_rules, derived_country_codes
from .write_path import write_path

__all__ = [
    "BulkItem",
    "BulkOutcome",
    "BulkPlan",
    "StaleEdit",
    "add_review",
    "complete_follow_up",
    "delete_city_record",
    "plan_in_bulk",
    "prepare_planned",
    "resolve_relations",
    "save_agreement",
    "save_engagement",
    "save_follow_up",
    "save_in_bulk",
    "write_planned",
]

AGREEMENT_FIELDS = [
    "city",
    "title",
    "kind",
    "status",
    "signed_on",
    "effective_on",
    "expires_on",
    "renewal_due_on",
    "authorized_by",
    "summary",
    "url",
    "visibility",
    "external_id",
    "is_demo",
]
ENGAGEMENT_FIELDS = [
    "city",
    "title",
    "kind",
    "status",
    "start_date",
    "end_date",
    "location_city",
    "venue",
    "summary",
    "outcomes",
    "agreement",
    "federal_coordination_requested",
    "visibility",
    "external_id",
    "is_demo",
]
FOLLOW_UP_FIELDS = ["engagement", "description", "due_on", "assignee", "done_at"]


def service(function):
    """Run a write in one transaction on the write path."""

    @functools.wraps(function)
    def write(*args, **kwargs):
        with write_path(), transaction.atomic():
            return function(*args, **kwargs)

    return write


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


def _counterpart_city_ids(record: CityRecord, relations: Mapping[str, list]) -> list[int]:
    if "counterpart_cities" in relations:
        return [city.pk for city in relations["counterpart_cities"]]
    return list(record.counterpart_cities.values_list("pk", flat=True)) if record.pk else []


def _derive_countries(record: CityRecord) -> None:
    record.counterpart_countries.set(
        derived_country_codes(
            named=record.named_countries.values_list("iso2", flat=True),
            of_cities=record.counterpart_cities.values_list("country_id", flat=True),
            of_organizations=record.counterpart_organizations.values_list("country_id", flat=True),
        )
    )


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
    creating = record.pk is None
    counterpart_city_ids = _counterpart_city_ids(record, relations)
    # One history entry per write, taken once the relations are set, rather than one per
    # relation changed.
    record.skip_history_when_saving = True
    try:
        record = write_record(
            actor=actor,
            instance=record,
            data=scalars,
            allowed=allowed,
            check=lambda instance: check_rules(
                instance, counterpart_city_ids=counterpart_city_ids, check_agreement=True
            ),
        )
        for name, values in relations.items():
            getattr(record, name).set(values)
        _derive_countries(record)
        if participants is not None and model is Engagement:
            _replace_participants(record, participants)
    finally:
        del record.skip_history_when_saving
    # simple_history writes its entry on post_save: sent again now that the relations are set.
    post_save.send(
        sender=model, instance=record, created=creating, raw=False, using=record._state.db, update_fields=None
    )
    events.announce(model, **{"created" if creating else "changed": [record.pk]})
    return record


def _replace_participants(engagement: Engagement, participants: Iterable[Mapping[str, Any]]) -> None:
    engagement.participants.all().delete()
    rows = []
    for index, item in enumerate(participants):
        participant = Participant(engagement=engagement, **{k: v for k, v in item.items() if k != "id"})
        try:
            participant.full_clean(exclude=["engagement"])
        except ValidationError as error:
            raise ValidationError(
                {"participants": [f"Participant {index + 1}: {m}" for m in error.messages]}
            ) from error
        rows.append(participant)
    Participant.objects.bulk_create(rows)


@service
def save_agreement(
    *, actor, data: Mapping[str, Any], agreement: Agreement | None = None, expected_version: int | None = None
) -> Agreement:
    """Create an agreement (no `agreement`) or change one. `data` holds model field names;
    relations take lists of instances. Raises StaleEdit, PermissionDenied or ValidationError."""
    return _save_city_record(
        Agreement, actor=actor, record=agreement, data=data, allowed=AGREEMENT_FIELDS, expected_version=expected_version
    )


@service
def save_engagement(
    *, actor, data: Mapping[str, Any], engagement: Engagement | None = None, expected_version: int | None = None
) -> Engagement:
    """Create an engagement (no `engagement`) or change one; `participants` is a list of dicts
    that replaces the current list. Raises StaleEdit, PermissionDenied or ValidationError."""
    return _save_city_record(
        Engagement,
        actor=actor,
        record=engagement,
        data=data,
        allowed=ENGAGEMENT_FIELDS,
        expected_version=expected_version,
    )


@service
def delete_city_record(*, actor, record: CityRecord, expected_version: int | None = None) -> None:
    current = type(record).objects.select_for_update().get(pk=record.pk)
    if expected_version is not None and current.version != expected_version:
        raise StaleEdit(current)
    delete_record(actor=actor, instance=current)


@service
def save_follow_up(*, actor, data: Mapping[str, Any], follow_up: FollowUp | None = None) -> FollowUp:
    return write_record(actor=actor, instance=follow_up or FollowUp(), data=data, allowed=FOLLOW_UP_FIELDS)


@service
def complete_follow_up(*, actor, follow_up: FollowUp) -> FollowUp:
    return save_follow_up(actor=actor, follow_up=follow_up, data={"done_at": timezone.now()})


@service
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
    events.announce(Review, created=[review.pk])
    return review
