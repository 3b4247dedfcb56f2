"""Set-wise writes of agreements and engagements: the bulk half of the one write path.

`services.save_agreement` and `services.save_engagement` write one record in some twenty queries;
a million imported rows would take hours. `save_in_bulk` writes a chunk of thousands of records in
a fixed number of queries: one per relation to read the current counterparts and topics, then
COPY of the new records (`bulk_update` of changed ones), the relation rows and the history rows.

It keeps every rule of the single-record path, from the same functions (`services.check_rules`,
`derived_country_codes`): the policy (may the actor create or change this record), the model's
own validation (`full_clean`, less the foreign-key existence queries: the caller looked every
related object up), counterpart countries derived the same way, the version bumped on every
change, one history entry per created or changed record with its relations, in the actor's name,
and one `records_written` event for the chunk once it commits. If the set-wise write still fails
in the database, the chunk is redone record by record in savepoints, so one bad record is reported
and the others are written.
"""

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.policy import Action, can
from cities.models import City, Organization, Topic
from utilities.sqlbulk import insert_rows, insert_values

from . import events
from .filter_arrays import COUNTRY_CODES, TOPIC_SLUGS, arrays_available
from .rules import RELATION_FIELDS, check_rules, derived_country_codes
from .write_path import write_path

CREATED, UPDATED, UNCHANGED, ERROR = "created", "updated", "unchanged", "error"
DERIVED = "counterpart_countries"
# A field's check is remembered per value; a field holding many different values (titles,
# summaries) stops being remembered once it has this many.
REMEMBERED_VALUES = 4096
FOREIGN_KEYS = ["city", "location_city", "agreement", "created_by"]


@dataclass
class BulkItem:
    """One record to write: `record` is the one it changes (None creates one), `data` the model
    field values it sets (`city` included), `relations` the relations it sets, as instances; a
    relation left out keeps its current targets."""

    record: Any
    data: dict[str, Any]
    relations: dict[str, list] = field(default_factory=dict)


@dataclass
class BulkOutcome:
    result: str  # CREATED, UPDATED, UNCHANGED or ERROR
    error: ValidationError | PermissionDenied | None = None


@dataclass(eq=False)
class _Plan:
    item: BulkItem
    instance: Any
    creating: bool
    relations: dict[str, list]  # final target ids of every relation the item sets or keeps
    changed_relations: set[str]


def save_in_bulk(
    model, *, actor, items: list[BulkItem], dry_run: bool = False, remembered: dict | None = None
) -> list[BulkOutcome]:
    """Create or change the records `items` describe, as `actor`; one outcome per item, in order.
    A dry run checks everything and writes nothing. `remembered` carries field checks from one
    call to the next (an import passes the same dict for every chunk)."""
    with write_path():
        return _Writer(model, actor, {} if remembered is None else remembered).run(items, dry_run=dry_run)


class _Writer:
    def __init__(self, model, actor, remembered: dict):
        self.model = model
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.policy_actor = actor
        self.remembered = remembered

    def run(self, items: list[BulkItem], *, dry_run: bool) -> list[BulkOutcome]:
        existing = [item.record.pk for item in items if item.record is not None]
        current = self._current_relations(existing) if existing else {}
        outcomes: list[BulkOutcome] = []
        plans: list[tuple[int, _Plan]] = []
        for index, item in enumerate(items):
            planned = self._plan(item, current)
            if isinstance(planned, BulkOutcome):
                outcomes.append(planned)
            else:
                plans.append((index, planned))
                outcomes.append(BulkOutcome(CREATED if planned.creating else UPDATED))
        if plans and not dry_run:
            try:
                with transaction.atomic():
                    self._write([plan for _, plan in plans])
            except (IntegrityError, ValidationError) as error:
                if len(plans) == 1:
                    outcomes[plans[0][0]] = BulkOutcome(ERROR, _database_error(error))
                else:
                    # Find the culprit record by record; the others are written as planned.
                    for index, plan in plans:
                        outcomes[index] = self.run([self._fresh(plan.item)], dry_run=False)[0]
        return outcomes

    def _fresh(self, item: BulkItem) -> BulkItem:
        """The item again, its record read anew: planning changed the instance in memory."""
        record = self.model.objects.get(pk=item.record.pk) if item.record is not None else None
        return BulkItem(record, item.data, item.relations)

    # --- reading what exists -----------------------------------------------------------------

    def _through(self, relation: str):
        descriptor = getattr(self.model, relation)
        return descriptor.through, descriptor.field.m2m_field_name(), descriptor.field.m2m_reverse_field_name()

    def _current_relations(self, record_ids: list[int]) -> dict[str, dict[int, list[tuple[int, Any]]]]:
        """Every relation of these records as {relation: {record id: [(through id, target id)]}}."""
        current = {}
        for relation in [*RELATION_FIELDS, DERIVED]:
            through, source, target = self._through(relation)
            rows = through.objects.filter(**{f"{source}_id__in": record_ids}).values_list(
                "id", f"{source}_id", f"{target}_id"
            )
            per_record: dict[int, list] = {}
            for through_id, record_id, target_id in rows:
                per_record.setdefault(record_id, []).append((through_id, target_id))
            current[relation] = per_record
        return current

    # --- planning ------------------------------------------------------------------------------

    def _plan(self, item: BulkItem, current) -> _Plan | BulkOutcome:
        data, record = item.data, item.record
        creating = record is None
        if creating:
            record = self.model(created_by=self.actor, version=1)
            changed = set(data)
        else:
            if not can(self.policy_actor, Action.CHANGE, record):
                return BulkOutcome(ERROR, PermissionDenied())
            changed = {name for name, value in data.items() if getattr(record, name) != value}
        relations, changed_relations = {}, set()
        for relation in RELATION_FIELDS:
            before = [target for _, target in current.get(relation, {}).get(record.pk, [])] if not creating else []
            if relation in item.relations:
                after = [obj.pk for obj in item.relations[relation]]
                if relation == "named_countries":
                    derived = self._derived_codes(item, current, record)
                    after = [code for code in after if code not in derived]
                if set(after) != set(before):
                    changed_relations.add(relation)
                relations[relation] = after
            else:
                relations[relation] = before
        if not creating and not changed and not changed_relations:
            return BulkOutcome(UNCHANGED)
        for name in changed:
            setattr(record, name, data[name])
        if not can(self.policy_actor, Action.CREATE if creating else Action.CHANGE, record):
            return BulkOutcome(ERROR, PermissionDenied())
        try:
            self._full_clean(record)
            check_rules(
                record,
                counterpart_city_ids=relations["counterpart_cities"],
                check_agreement=bool(changed & {"agreement", "city"}),
            )
        except ValidationError as error:
            return BulkOutcome(ERROR, error)
        return _Plan(item, record, creating, relations, changed_relations)

    def _full_clean(self, record) -> None:
        """`record.full_clean(exclude=FOREIGN_KEYS, validate_unique=False,
        validate_constraints=False)`, remembering each field's answer for a value: a file repeats
        its kinds, statuses, dates and venues thousands of times, and the fields checked here
        answer from the value alone."""
        failed = {}
        for model_field in self.model._meta.fields:
            if model_field.name in FOREIGN_KEYS or model_field.generated:
                continue
            raw = getattr(record, model_field.attname)
            if model_field.blank and raw in model_field.empty_values:
                continue
            answers = self.remembered.setdefault(model_field.attname, {})
            answer = answers.get(raw)
            if answer is None:
                try:
                    answer = (True, model_field.clean(raw, record))
                except ValidationError as error:
                    answer = (False, error.error_list)
                if len(answers) < REMEMBERED_VALUES:
                    answers[raw] = answer
            valid, value = answer
            if valid:
                setattr(record, model_field.attname, value)
            else:
                failed[model_field.name] = value
        errors = ValidationError(failed).update_error_dict({}) if failed else {}
        try:
            record.clean()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _derived_codes(self, item: BulkItem, current, record) -> set[str]:
        """The countries the item's counterparts give, which it need not name again."""
        codes = set()
        for relation, model in (("counterpart_cities", City), ("counterpart_organizations", Organization)):
            given = item.relations.get(relation)
            if given is not None:
                codes.update(obj.country_id for obj in given if obj.country_id)
            elif record.pk:
                ids = [target for _, target in current.get(relation, {}).get(record.pk, [])]
                codes.update(
                    model.objects.filter(pk__in=ids, country__isnull=False).values_list("country_id", flat=True)
                )
        return codes

    # --- writing -------------------------------------------------------------------------------

    def _write(self, plans: list[_Plan]) -> None:
        now = timezone.now()
        creates = [plan.instance for plan in plans if plan.creating]
        updates = [plan for plan in plans if not plan.creating]
        for record in creates:
            record.created_at = record.updated_at = now
        self._derive_countries(plans)
        insert_rows(self.model, creates, extra=self._filter_arrays([plan for plan in plans if plan.creating]))
        if updates:
            fields = {"version", "updated_at"}
            for plan in updates:
                plan.instance.version += 1
                plan.instance.updated_at = now
                fields.update(name for name in plan.item.data if name != "city")
            self.model.objects.bulk_update([plan.instance for plan in updates], sorted(fields))

        current = self._current_relations([plan.instance.pk for plan in updates]) if updates else {}
        final: dict[str, dict[int, list[tuple[int, Any]]]] = {}
        for relation in [*RELATION_FIELDS, DERIVED]:
            through, source, target = self._through(relation)
            replace = [
                plan
                for plan in plans
                if plan.creating
                or relation in plan.changed_relations
                or (
                    relation == DERIVED
                    and {t for _, t in current[relation].get(plan.instance.pk, [])} != set(plan.relations[relation])
                )
            ]
            stale = [plan.instance.pk for plan in replace if not plan.creating]
            if stale:
                through.objects.filter(**{f"{source}_id__in": stale}).delete()
            rows = [(plan.instance.pk, target_id) for plan in replace for target_id in plan.relations[relation]]
            ids = insert_values(through, [f"{source}_id", f"{target}_id"], rows)
            per_record = final.setdefault(relation, {})
            replaced = {id(plan) for plan in replace}
            for plan in plans:
                if id(plan) not in replaced:
                    per_record[plan.instance.pk] = current[relation].get(plan.instance.pk, [])
            for through_id, (record_id, target_id) in zip(ids, rows, strict=True):
                per_record.setdefault(record_id, []).append((through_id, target_id))
        self._write_history(plans, final, now)
        events.announce(
            self.model,
            created=[plan.instance.pk for plan in plans if plan.creating],
            changed=[plan.instance.pk for plan in updates],
        )

    def _filter_arrays(self, plans: list[_Plan]) -> dict[str, list] | None:
        """The topic slugs and counterpart country codes of new records, written with them (on
        PostgreSQL): the arrays' triggers then find them already right when the relation rows
        follow, instead of rewriting every new record (`filter_arrays.py`). Sorted as the
        triggers sort them (byte order)."""
        if not plans or not arrays_available(self.model.objects.all()):
            return None
        slugs = {topic.pk: topic.slug for plan in plans for topic in plan.item.relations.get("topics", [])}
        unknown = {pk for plan in plans for pk in plan.relations["topics"]} - set(slugs)
        slugs.update(Topic.objects.filter(pk__in=unknown).values_list("pk", "slug"))
        return {
            TOPIC_SLUGS: [sorted({slugs[pk] for pk in plan.relations["topics"]}) for plan in plans],
            COUNTRY_CODES: [sorted(set(plan.relations[DERIVED])) for plan in plans],
        }

    def _derive_countries(self, plans: list[_Plan]) -> None:
        """Each plan's counterpart countries, from its counterparts' countries read in two queries."""
        cities, organizations = {}, {}
        for plan in plans:
            cities.update({c.pk: c.country_id for c in plan.item.relations.get("counterpart_cities", [])})
            organizations.update({o.pk: o.country_id for o in plan.item.relations.get("counterpart_organizations", [])})
        unknown_cities = {t for p in plans for t in p.relations["counterpart_cities"]} - set(cities)
        unknown_orgs = {t for p in plans for t in p.relations["counterpart_organizations"]} - set(organizations)
        cities.update(City.objects.filter(pk__in=unknown_cities).values_list("pk", "country_id"))
        organizations.update(Organization.objects.filter(pk__in=unknown_orgs).values_list("pk", "country_id"))
        for plan in plans:
            plan.relations[DERIVED] = derived_country_codes(
                named=plan.relations["named_countries"],
                of_cities=[cities[pk] for pk in plan.relations["counterpart_cities"]],
                of_organizations=[organizations[pk] for pk in plan.relations["counterpart_organizations"]],
            )

    def _write_history(self, plans: list[_Plan], final, now) -> None:
        historical = self.model.history.model
        tracked = [field.attname for field in historical.tracked_fields]
        fixed = (now, self.actor.pk if self.actor else None, "")
        rows = [
            (*fixed, "+" if plan.creating else "~", *(getattr(plan.instance, name) for name in tracked))
            for plan in plans
        ]
        history_ids = insert_values(
            historical, ["history_date", "history_user_id", "history_change_reason", "history_type", *tracked], rows
        )
        for relation in RELATION_FIELDS:
            history_field = next(f for f in historical._history_m2m_fields if f.name == relation)
            m2m_model = apps.get_model(
                self.model._meta.app_label, f"Historical{self.model.__name__}_{history_field.name}"
            )
            _, source, target = self._through(relation)
            rows = [
                (history_id, through_id, plan.instance.pk, target_id)
                for history_id, plan in zip(history_ids, plans, strict=True)
                for through_id, target_id in final[relation].get(plan.instance.pk, [])
            ]
            insert_values(m2m_model, ["history_id", "id", f"{source}_id", f"{target}_id"], rows, returning=False)


def _database_error(error: Exception) -> ValidationError:
    if isinstance(error, ValidationError):
        return error
    return ValidationError(f"The database refused this record: {str(error).splitlines()[0]}")
