"""Set-wise writes of agreements and engagements: the bulk half of the one write path.

`services.save_agreement` and `services.save_engagement` write one record in some twenty queries;
a million imported rows would take hours. `save_in_bulk` writes a chunk of thousands of records in
a fixed number of queries: one per relation to read the current counterparts and topics, then
COPY of the new records (`bulk_update` of changed ones) and the relation rows; the history rows
are copied by the database from the rows just written (INSERT ... SELECT). It comes in two
halves, `plan_in_bulk` (every check, no write) and `write_planned`, so an importer can check one
chunk while the one before it is written.

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
from operator import attrgetter
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import IntegrityError, connection, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from accounts.policy import Action, can
from cities.models import City, Organization, Topic
from utilities.sqlbulk import (
    array_literal,
    copy_into,
    copy_line,
    copy_text,
    id_array_literal,
    insert_selected,
    insert_values,
    reserve_ids,
)

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
# Set as the records are written, not as they are prepared.
STAMPS = ["created_at", "updated_at"]


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
    planned = plan_in_bulk(model, actor=actor, items=items, remembered=remembered)
    return list(planned.outcomes) if dry_run else write_planned(planned)


@dataclass(eq=False)
class BulkPlan:
    """Items checked by `plan_in_bulk` and not yet written: `outcomes` says what writing them
    will do, one per item."""

    writer: "_Writer"
    outcomes: list[BulkOutcome]
    plans: list[tuple[int, _Plan]]
    # The filter arrays of the records it creates (`_Writer._filter_arrays`).
    arrays: dict[str, list] | None
    # Those records with their ids, as COPY text (`prepare_planned`), on PostgreSQL.
    prepared: "_Prepared | None" = None


@dataclass(eq=False)
class _Prepared:
    columns: list[str]
    # A line of COPY text per new record, all but its timestamps (added as it is written).
    lines: list[str]
    # The new records' rows of each relation, as COPY text.
    relations: dict[str, str]


def plan_in_bulk(model, *, actor, items: list[BulkItem], remembered: dict | None = None) -> BulkPlan:
    """The checking half of `save_in_bulk`: every rule applied, nothing written. `write_planned`
    writes the plan, in this transaction or a later one (another thread's, even); a caller
    that lets time pass between the two first makes sure the records the items name are still
    the ones planned with (`imports.services` compares their ids and versions)."""
    return _Writer(model, actor, {} if remembered is None else remembered).plan(items)


def prepare_planned(planned: BulkPlan) -> None:
    """Give the records `planned` creates their ids, and write them and their relation rows as
    COPY text, ahead of `write_planned`, which then only sends them: an importer prepares a chunk
    in the thread that checks it, so the thread that writes spends no Python on its rows (the
    two threads share one interpreter lock). `write_planned` prepares what was not. Only on
    PostgreSQL; elsewhere there is nothing to prepare."""
    planned.writer.prepare(planned)


def write_planned(planned: BulkPlan) -> list[BulkOutcome]:
    """Write what `plan_in_bulk` planned; the outcomes, one per item."""
    with write_path():
        return planned.writer.write(planned)


class _Writer:
    def __init__(self, model, actor, remembered: dict):
        self.model = model
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.policy_actor = actor
        self.remembered = remembered
        # A new record's attributes, and its fields whose default is made anew for each record.
        self._blank: dict | None = None
        self._fresh_defaults: list = []
        self._checks: list | None = None
        # The targets' ids read by attrgetter: `.pk` looks its field up for every target.
        self._pk_of = {
            relation: attrgetter(model._meta.get_field(relation).related_model._meta.pk.attname)
            for relation in RELATION_FIELDS
        }

    def plan(self, items: list[BulkItem]) -> BulkPlan:
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
        self._derive_countries([plan for _, plan in plans])
        return BulkPlan(self, outcomes, plans, self._filter_arrays([plan for _, plan in plans if plan.creating]))

    def write(self, planned: BulkPlan) -> list[BulkOutcome]:
        outcomes, plans = list(planned.outcomes), planned.plans
        if not plans:
            return outcomes
        try:
            with transaction.atomic():
                self._write(planned)
        except (IntegrityError, ValidationError) as error:
            if len(plans) == 1:
                outcomes[plans[0][0]] = BulkOutcome(ERROR, _database_error(error))
            else:
                # Find the culprit record by record; the others are written as planned.
                for index, plan in plans:
                    outcomes[index] = self.write(self.plan([self._fresh(plan.item)]))[0]
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
            record = self._new_record()
            changed = set(data)
        else:
            if not can(self.policy_actor, Action.CHANGE, record):
                return BulkOutcome(ERROR, PermissionDenied())
            changed = {name for name, value in data.items() if getattr(record, name) != value}
        relations, changed_relations = {}, set()
        for relation in RELATION_FIELDS:
            before = [target for _, target in current.get(relation, {}).get(record.pk, [])] if not creating else []
            if relation in item.relations:
                after = list(map(self._pk_of[relation], item.relations[relation]))
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

    def _new_record(self):
        """A new record, as `model(created_by=actor, version=1)` makes it, copied from one made
        once (as unpickling makes an instance): `Model.__init__` asks every field for its
        default, and took a third of planning a chunk."""
        if self._blank is None:
            first = self.model(created_by=self.actor, version=1)
            self._blank = {name: value for name, value in vars(first).items() if name != "_state"}
            self._fresh_defaults = [
                field for field in self.model._meta.concrete_fields if field.has_default() and callable(field.default)
            ]
        record = self.model.__new__(self.model)
        record.__dict__.update(self._blank)
        record._state = ModelState()
        for model_field in self._fresh_defaults:
            setattr(record, model_field.attname, model_field.get_default())
        return record

    def _full_clean(self, record) -> None:
        """`record.full_clean(exclude=FOREIGN_KEYS, validate_unique=False,
        validate_constraints=False)`, remembering each field's answer for a value: a file repeats
        its kinds, statuses, dates and venues thousands of times, and the fields checked here
        answer from the value alone. A plain text field answers from the value's length (and
        whether it holds a NUL), so titles and external ids, new in every row, are checked once
        per length."""
        failed = {}
        for model_field, attname, by_length in self._checked_fields():
            raw = getattr(record, attname)
            if model_field.blank and raw in model_field.empty_values:
                continue
            answers = self.remembered.setdefault(attname, {})
            key = (len(raw), "\x00" in raw) if by_length and type(raw) is str else raw
            answer = answers.get(key)
            if answer is None:
                try:
                    cleaned = model_field.clean(raw, record)
                    # Such a field cleans text to itself: the row keeps its own.
                    answer = (True, _OWN_VALUE if by_length and type(raw) is str else cleaned)
                except ValidationError as error:
                    answer = (False, error.error_list)
                if len(answers) < REMEMBERED_VALUES:
                    answers[key] = answer
            valid, value = answer
            if not valid:
                failed[model_field.name] = value
            elif value is not _OWN_VALUE:
                setattr(record, attname, value)
        errors = ValidationError(failed).update_error_dict({}) if failed else {}
        try:
            record.clean()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _checked_fields(self) -> list[tuple[Any, str, bool]]:
        """The fields `_full_clean` checks, each with its attname and whether it answers by length."""
        if self._checks is None:
            self._checks = [
                (model_field, model_field.attname, _answers_by_length(model_field))
                for model_field in self.model._meta.fields
                if model_field.name not in FOREIGN_KEYS and not model_field.generated
            ]
        return self._checks

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

    def prepare(self, planned: BulkPlan) -> None:
        if planned.prepared is not None or connection.vendor != "postgresql":
            return
        creates = [plan for _, plan in planned.plans if plan.creating]
        meta = self.model._meta
        if creates:
            for plan, pk in zip(creates, reserve_ids(self.model, len(creates)), strict=True):
                setattr(plan.instance, meta.pk.attname, pk)
        names = [meta.pk.attname]
        names += [
            field.attname for field in meta.concrete_fields if field is not meta.pk and field.attname not in STAMPS
        ]
        values_of = attrgetter(*names)
        arrays = list((planned.arrays or {}).values())
        lines = [
            copy_line((*values_of(plan.instance), *(values[index] for values in arrays)))
            for index, plan in enumerate(creates)
        ]
        relations = {
            relation: copy_text((plan.instance.pk, target) for plan in creates for target in plan.relations[relation])
            for relation in [*RELATION_FIELDS, DERIVED]
        }
        planned.prepared = _Prepared([*names, *(planned.arrays or {})], lines, relations)

    def _write(self, planned: BulkPlan) -> None:
        plans = [plan for _, plan in planned.plans]
        now = timezone.now()
        creates = [plan.instance for plan in plans if plan.creating]
        updates = [plan for plan in plans if not plan.creating]
        for record in creates:
            record.created_at = record.updated_at = now
        self.prepare(planned)
        prepared = planned.prepared
        if prepared is None:
            self.model.objects.bulk_create(creates)
        elif prepared.lines:
            stamps = "\t" + copy_line([now] * len(STAMPS)) + "\n"
            copy_into(self.model, [*prepared.columns, *STAMPS], stamps.join(prepared.lines) + stamps)
            for record in creates:
                record._state.adding = False
                record._state.db = connection.alias
        if updates:
            fields = {"version", "updated_at"}
            for plan in updates:
                plan.instance.version += 1
                plan.instance.updated_at = now
                fields.update(name for name in plan.item.data if name != "city")
            self.model.objects.bulk_update([plan.instance for plan in updates], sorted(fields))

        current = self._current_relations([plan.instance.pk for plan in updates]) if updates else {}
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
            columns = [f"{source}_id", f"{target}_id"]
            if prepared is None:
                rows = [(plan.instance.pk, target_id) for plan in replace for target_id in plan.relations[relation]]
                insert_values(through, columns, rows, returning=False)
            else:
                changed = [
                    (plan.instance.pk, t) for plan in replace if not plan.creating for t in plan.relations[relation]
                ]
                copy_into(through, columns, prepared.relations[relation] + copy_text(changed))
        self._write_history(plans, now)
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
            TOPIC_SLUGS: [array_literal(sorted({slugs[pk] for pk in plan.relations["topics"]})) for plan in plans],
            COUNTRY_CODES: [array_literal(sorted(set(plan.relations[DERIVED]))) for plan in plans],
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

    def _write_history(self, plans: list[_Plan], now) -> None:
        """One history entry per record, with its relations, copied by the database from the
        rows just written rather than sent to it a second time."""
        historical = self.model.history.model
        tracked = [field.attname for field in historical.tracked_fields]
        fixed = {
            "history_date": now,
            "history_user_id": self.actor.pk if self.actor else None,
            "history_change_reason": "",
        }
        entries: list[tuple[int, int]] = []  # (history_id, record id)
        for history_type, creating in (("+", True), ("~", False)):
            records = [plan.instance.pk for plan in plans if plan.creating == creating]
            if records:
                written = self.model._base_manager.filter(pk__any_of=records).order_by().values_list(*tracked)
                entries += insert_selected(
                    historical,
                    tracked,
                    written,
                    constants={**fixed, "history_type": history_type},
                    returning=(historical._meta.pk.attname, "id"),
                )
        entries_sql, entries_params = _entries(historical, entries)
        records = [record for _, record in entries]
        quote = connection.ops.quote_name
        for relation in RELATION_FIELDS:
            copies = apps.get_model(self.model._meta.app_label, f"Historical{self.model.__name__}_{relation}")
            through, source, target = self._through(relation)
            copied = ", ".join(quote(copies._meta.get_field(name).column) for name in ("history", "id", source, target))
            linked = ", ".join(f"link.{quote(through._meta.get_field(name).column)}" for name in ("id", source, target))
            record = quote(through._meta.get_field(source).column)
            # The relation rows of these records by their ids: joined to the entries alone, the
            # planner (its statistics ending before the ids just written) merged the entries with
            # the whole relation table in id order, every row of it, for each chunk.
            links = through._base_manager.filter(**{f"{source}_id__any_of": records}).order_by()
            links_sql, links_params = links.values("id", f"{source}_id", f"{target}_id").query.sql_with_params()
            with connection.cursor() as cursor:
                # Table and column names come from the models' metadata.
                cursor.execute(
                    f"INSERT INTO {quote(copies._meta.db_table)} ({copied}) SELECT entry.history_id, {linked} "  # noqa: S608
                    f"FROM {entries_sql} AS entry JOIN ({links_sql}) AS link ON link.{record} = entry.id",
                    [*entries_params, *links_params],
                )


def _entries(historical, entries: list[tuple[int, int]]) -> tuple[str, list]:
    """The new history entries as a table of (history_id, id) to join, and its parameters. On
    PostgreSQL the pairs the insert returned, unnested: read back from the history table, whose
    statistics a load leaves behind, they were found by reading all of it, a chunk at a time."""
    if connection.vendor == "postgresql":
        history_ids, records = zip(*entries, strict=True) if entries else ((), ())
        arrays = [id_array_literal(history_ids), id_array_literal(records)]
        return "(SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS pairs (history_id, id))", arrays
    history_ids = [history_id for history_id, _ in entries]
    rows = historical._base_manager.filter(history_id__any_of=history_ids).order_by().values("history_id", "id")
    sql, params = rows.query.sql_with_params()
    return f"({sql})", list(params)


_OWN_VALUE = object()


def _answers_by_length(model_field) -> bool:
    """Whether the field's check answers from a text's length and NUL alone: a CharField or
    TextField as Django defines it (not a subclass), without choices, whose validators are
    Django's own for the length and for NUL characters."""
    return (
        type(model_field) in (models.CharField, models.TextField)
        and not model_field.choices
        and all(
            type(check) in (MaxLengthValidator, ProhibitNullCharactersValidator) for check in model_field.validators
        )
    )


def _database_error(error: Exception) -> ValidationError:
    if isinstance(error, ValidationError):
        return error
    return ValidationError(f"The database refused this record: {str(error).splitlines()[0]}")
