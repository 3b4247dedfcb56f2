"""What each kind of import reads, how it recognises a record it already has, and how it writes.

Natural keys (a row updates the record with the same key, or creates one):
- cities: `geonames_id` when given; otherwise country + subdivision + name (case and accents ignored).
- organizations: name (case ignored) + country (the city's country when only `city` is given).
- memberships: network + city + role + joined_on (a city that left and rejoined has two rows).
- agreements: `external_id` within the city when given; otherwise city + title + signed_on.
- engagements: `external_id` within the city when given; otherwise city + title + start_date.

A row whose values equal the record's is `unchanged` and not written: no new version, no history.
Only the columns the file has are compared and written; a column left out leaves its field alone.

Cities, organisations and memberships are few and are written one by one through the services of
`cities.services`. Agreements and engagements come by the hundred thousand, so they are written
set-based (see `CityRecordKind`), keeping the services' rules and history.
"""

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.db.models.signals import post_save
from django.utils import timezone

from cities.models import City, NetworkMembership, Organization
from cities.services import save_city, save_membership, save_organization
from cities.text import fold
from engagements.models import Agreement, Engagement, Visibility

from .rows import ImportContext, RowReader

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
REMEMBERED_VALUES = 4096
NO_PERMISSION = "You may not import this record."


@dataclass
class Candidate:
    """A row that parsed: the record it names (`key`) and the values it gives."""

    row: int
    key: tuple
    data: dict[str, Any]
    relations: dict[str, list] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    @cached_property
    def digest(self) -> int:
        """The key as a signed 64-bit number, which is what the job remembers of it."""
        hashed = hashlib.blake2b(repr(self.key).encode(), digest_size=8).digest()
        return int.from_bytes(hashed, "big", signed=True)


@dataclass
class Outcome:
    result: str  # created, updated, unchanged or "error"
    problems: list[tuple[str, str, str]] = field(default_factory=list)


def problems_from(error: Exception, raw: dict[str, str], columns: dict[str, str] | None = None) -> list:
    """A ValidationError or PermissionDenied as row problems, named by the file's columns."""
    if isinstance(error, PermissionDenied):
        return [("", "", NO_PERMISSION)]
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        found = []
        for name, messages in error.message_dict.items():
            column = (columns or {}).get(name, name if name != "__all__" else "")
            found.extend((column, raw.get(column, ""), message) for message in messages)
        return found
    if isinstance(error, ValidationError):
        return [("", "", message) for message in error.messages]
    return [("", "", str(error))]


class _Rollback(Exception):
    """Undoes a dry run's write, carrying what the write would have done."""

    def __init__(self, result: str):
        self.result = result


class Kind:
    name = ""
    columns: list[str] = []
    required: list[str] = []
    # How a row finds the record it updates, in words for the upload page.
    identity = ""

    def parse(self, row: RowReader) -> Candidate | None:
        raise NotImplementedError

    def apply(self, candidates: list[Candidate], context: ImportContext, *, dry_run: bool) -> list[Outcome]:
        raise NotImplementedError


class RowByRowKind(Kind):
    """Writes each row through the domain service in its own savepoint; a dry run makes the same
    write and rolls it back, so it reports exactly what a real run would do."""

    def apply(self, candidates, context, *, dry_run):
        outcomes = []
        for candidate in candidates:
            try:
                with transaction.atomic():
                    result = self.apply_one(candidate, context)
                    if dry_run:
                        raise _Rollback(result)
            except _Rollback as rollback:
                outcomes.append(Outcome(rollback.result))
            except (ValidationError, PermissionDenied, IntegrityError) as error:
                outcomes.append(Outcome("error", problems_from(error, candidate.raw)))
            else:
                outcomes.append(Outcome(result))
        return outcomes

    def apply_one(self, candidate: Candidate, context: ImportContext) -> str:
        raise NotImplementedError


def _differs(instance, data: dict[str, Any]) -> bool:
    return any(getattr(instance, name) != value for name, value in data.items())


class CityKind(RowByRowKind):
    name = "cities"
    identity = "geonames_id when given, otherwise country + subdivision + name"
    columns = ["name", "country", "subdivision", "population", "latitude", "longitude", "timezone", "geonames_id"]
    required = ["name", "country"]

    def parse(self, row):
        name = row.text("name", required=True)
        country = row.country("country", required=True)
        data: dict[str, Any] = {"name": name, "country": country}
        if row.has("subdivision"):
            data["subdivision"] = row.text("subdivision").upper()
            if data["subdivision"] and country and not data["subdivision"].startswith(f"{country.iso2}-"):
                row.error("subdivision", f"“{data['subdivision']}” is not a subdivision of {country.iso2}.")
        if row.has("population"):
            data["population"] = row.integer("population")
        if row.has("latitude"):
            data["latitude"] = row.decimal("latitude", low=-90, high=90)
        if row.has("longitude"):
            data["longitude"] = row.decimal("longitude", low=-180, high=180)
        if row.has("timezone"):
            data["timezone"] = row.text("timezone")
        geonames_id = row.integer("geonames_id") if row.has("geonames_id") else None
        if row.has("geonames_id"):
            data["geonames_id"] = geonames_id
        if row.problems:
            return None
        if geonames_id:
            key = ("city", "geonames", geonames_id)
        else:
            key = ("city", country.iso2, data.get("subdivision", ""), fold(name))
        return Candidate(row.number, key, data, raw=row.values)

    def apply_one(self, candidate, context):
        data = candidate.data
        if data.get("geonames_id"):
            matches = list(City.objects.filter(geonames_id=data["geonames_id"]))
        else:
            matches = list(
                City.objects.filter(
                    country=data["country"], subdivision=data.get("subdivision", ""), search_name=fold(data["name"])
                )
            )
        if len(matches) > 1:
            ids = ", ".join(str(city.geonames_id or f"#{city.pk}") for city in matches)
            raise ValidationError({"name": [f"Several cities match this row ({ids}): give its geonames_id."]})
        city = matches[0] if matches else None
        if city is not None and not _differs(city, data):
            return UNCHANGED
        save_city(actor=context.actor, data=data, city=city)
        return CREATED if city is None else UPDATED


class OrganizationKind(RowByRowKind):
    name = "organizations"
    identity = "name + country"
    columns = ["name", "kind", "country", "city", "website"]
    required = ["name", "kind"]

    def parse(self, row):
        data: dict[str, Any] = {
            "name": row.text("name", required=True),
            "kind": row.choice("kind", Organization.Kind, required=True),
        }
        if row.has("country"):
            data["country"] = row.country("country")
        if row.has("city"):
            data["city"] = row.city("city")
        if row.has("website"):
            data["website"] = row.text("website")
        if row.problems:
            return None
        country = data.get("country") or (data["city"].country if data.get("city") else None)
        if data.get("city") and data.get("country") and data["city"].country_id != data["country"].iso2:
            row.error("city", f"{data['city'].label} is not in {data['country'].iso2}.")
            return None
        data["country"] = country
        key = ("organization", data["name"].casefold(), country.iso2 if country else "")
        return Candidate(row.number, key, data, raw=row.values)

    def apply_one(self, candidate, context):
        data = candidate.data
        country = data["country"]
        current = Organization.objects.filter(name__iexact=data["name"])
        current = current.filter(country=country) if country else current.filter(country__isnull=True)
        organization = current.first()
        if organization is not None and not _differs(organization, data):
            return UNCHANGED
        save_organization(actor=context.actor, data=data, organization=organization)
        return CREATED if organization is None else UPDATED


class MembershipKind(RowByRowKind):
    name = "memberships"
    identity = "network + city + role + joined_on"
    columns = ["network", "city", "role", "joined_on", "left_on", "notes"]
    required = ["network", "city", "role"]

    def parse(self, row):
        network_name = row.text("network", required=True)
        network = row.context.network(network_name) if network_name else None
        if network_name and network is None:
            row.error("network", f"No network is called “{network_name}” (give its slug, name or acronym).")
        data: dict[str, Any] = {
            "network": network,
            "city": row.home_city("city"),
            "role": row.choice("role", NetworkMembership.Role, required=True),
            "joined_on": row.date("joined_on") if row.has("joined_on") else None,
        }
        if row.has("left_on"):
            data["left_on"] = row.date("left_on")
            if data["left_on"] and data["joined_on"] and data["left_on"] < data["joined_on"]:
                row.error("left_on", "left_on must be on or after joined_on.")
        if row.has("notes"):
            data["notes"] = row.text("notes")
        if row.problems:
            return None
        key = ("membership", network.pk, data["city"].pk, data["role"], data["joined_on"])
        return Candidate(row.number, key, data, raw=row.values)

    def apply_one(self, candidate, context):
        data = candidate.data
        membership = NetworkMembership.objects.filter(
            network=data["network"], city=data["city"], role=data["role"], joined_on=data["joined_on"]
        ).first()
        if membership is not None and not _differs(membership, data):
            return UNCHANGED
        save_membership(actor=context.actor, data=data, membership=membership)
        return CREATED if membership is None else UPDATED


# Relations of agreements and engagements a file can set, by column.
RELATION_COLUMNS = {
    "counterpart_cities": "counterpart_cities",
    "counterpart_organizations": "counterpart_organizations",
    "topics": "topics",
    "counterpart_countries": "named_countries",
}
DERIVED = "counterpart_countries"


@dataclass(eq=False)
class _Plan:
    """What one candidate will do to the database."""

    candidate: Candidate
    instance: Any
    creating: bool
    relations: dict[str, list[int]]  # final target ids of every relation the row sets or derives
    changed_relations: set[str]


class CityRecordKind(Kind):
    """Agreements and engagements, written set-based in each chunk.

    The services of `engagements.services` write one record in some twenty queries; a million
    rows would take hours. Here each chunk of rows costs a fixed number of queries: one lookup of
    the records the rows name, one per relation to read their current counterparts and topics,
    then COPY of the new records (`bulk_update` of changed ones), the relation rows and the history
    rows, a chunk of thousands of rows at a time. The services' rules
    are kept: the same policy check (`can(actor, IMPORT, city)`, per city), the model's own field
    validation (`full_clean`, less the foreign-key existence queries: every related object was
    just looked up), the rules of SPEC §3 that the database also enforces (dates in order, a
    record's own city is not its counterpart), counterpart countries derived the same way, the
    version bumped on every change, one history entry per created or changed record, with its
    relations, in the actor's name, and `post_save` sent for each, as the services send it.
    If the set-based write still fails in the database, the chunk is redone row by row in
    savepoints, so one bad row is reported and the others are written.
    """

    model: type = None
    key_fields: tuple[str, ...] = ()
    date_order: tuple[str, str] = ("", "")

    def scalars(self, row: RowReader) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, row):
        city = row.home_city("city")
        data = {"title": row.text("title", required=True)}
        data.update(self.scalars(row))
        if row.has("external_id"):
            data["external_id"] = row.text("external_id") or None
        if row.has("visibility"):
            data["visibility"] = row.choice("visibility", Visibility, default=Visibility.INTERNAL)
        if row.has("summary"):
            data["summary"] = row.text("summary")
        relations = {}
        if row.has("counterpart_cities"):
            relations["counterpart_cities"] = row.cities("counterpart_cities")
            if city is not None and city in relations["counterpart_cities"]:
                row.error("counterpart_cities", f"A record's own city ({city.label}) cannot be its counterpart.")
        if row.has("counterpart_organizations"):
            relations["counterpart_organizations"] = row.organizations("counterpart_organizations")
        if row.has("topics"):
            relations["topics"] = row.topics("topics")
        if row.has("counterpart_countries"):
            relations["named_countries"] = row.countries("counterpart_countries")
        first, last = self.date_order
        if data.get(first) and data.get(last) and data[last] < data[first]:
            row.error(last, f"{last} must be on or after {first}.")
        if row.problems:
            return None
        data["city"] = city
        if data.get("external_id"):
            key = (self.name, city.pk, "external_id", data["external_id"])
        else:
            key = (self.name, city.pk, *(data.get(name) for name in self.key_fields))
        return Candidate(row.number, key, data, relations, raw=row.values)

    # --- reading what exists ---------------------------------------------------------------

    def _existing(self, candidates: list[Candidate]) -> dict[int, list]:
        """The records each candidate names, by candidate index."""
        by_external, by_natural = {}, {}
        for index, candidate in enumerate(candidates):
            (by_external if candidate.key[2] == "external_id" else by_natural)[index] = candidate
        found: dict[int, list] = {}
        if by_external:
            records = among(
                self.model.objects.filter(city_id__in={c.data["city"].pk for c in by_external.values()}),
                "external_id",
                {c.data["external_id"] for c in by_external.values()},
            )
            index_of = {(r.city_id, r.external_id): r for r in records}
            for index, candidate in by_external.items():
                record = index_of.get((candidate.data["city"].pk, candidate.data["external_id"]))
                found[index] = [record] if record else []
        if by_natural:
            records = among(
                self.model.objects.filter(city_id__in={c.data["city"].pk for c in by_natural.values()}),
                "title",
                {c.data["title"] for c in by_natural.values()},
            ).order_by("pk")
            index_of: dict[tuple, list] = {}
            for record in records:
                key = (record.city_id, *(getattr(record, name) for name in self.key_fields))
                index_of.setdefault(key, []).append(record)
            for index, candidate in by_natural.items():
                key = (candidate.data["city"].pk, *(candidate.data.get(name) for name in self.key_fields))
                found[index] = index_of.get(key, [])
        return found

    def _through(self, relation: str):
        descriptor = getattr(self.model, relation)
        through = descriptor.through
        source = descriptor.field.m2m_field_name()
        target = descriptor.field.m2m_reverse_field_name()
        return through, source, target

    def _current_relations(self, record_ids: list[int]) -> dict[str, dict[int, list[tuple[int, int]]]]:
        """Every relation of these records as {relation: {record id: [(through id, target id)]}}."""
        current = {}
        for relation in [*RELATION_COLUMNS.values(), DERIVED]:
            through, source, target = self._through(relation)
            rows = through.objects.filter(**{f"{source}_id__in": record_ids}).values_list(
                "id", f"{source}_id", f"{target}_id"
            )
            per_record: dict[int, list] = {}
            for through_id, record_id, target_id in rows:
                per_record.setdefault(record_id, []).append((through_id, target_id))
            current[relation] = per_record
        return current

    # --- planning ----------------------------------------------------------------------------

    def _plan(self, candidate: Candidate, record, current, context) -> _Plan | Outcome:
        data = candidate.data
        creating = record is None
        if creating:
            actor = context.actor if getattr(context.actor, "is_authenticated", False) else None
            record = self.model(created_by=actor, version=1)
            changed = set(data)
        else:
            changed = {name for name, value in data.items() if getattr(record, name) != value}
        relations, changed_relations = {}, set()
        for relation in RELATION_COLUMNS.values():
            before = [target for _, target in current.get(relation, {}).get(record.pk, [])] if not creating else []
            if relation in candidate.relations:
                after = [obj.pk for obj in candidate.relations[relation]]
                if relation == "named_countries":
                    derived = self._derived_codes(candidate, current, record)
                    after = [code for code in after if code not in derived]
                if set(after) != set(before):
                    changed_relations.add(relation)
                relations[relation] = after
            else:
                relations[relation] = before
        if not creating and not changed and not changed_relations:
            return Outcome(UNCHANGED)
        for name in changed:
            setattr(record, name, data[name])
        try:
            self._full_clean(record, context.cleaned)
        except ValidationError as error:
            return Outcome("error", problems_from(error, candidate.raw, self.column_of))
        return _Plan(candidate, record, creating, relations, changed_relations)

    foreign_keys = ["city", "location_city", "agreement", "created_by"]

    def _full_clean(self, record, known: dict[str, dict]) -> None:
        """`record.full_clean(exclude=self.foreign_keys, validate_unique=False,
        validate_constraints=False)`, remembering each field's answer for a value: a file repeats
        its kinds, statuses, dates and venues thousands of times, and the fields checked here
        answer from the value alone. A field holding many different values (titles, summaries)
        stops being remembered once it has `REMEMBERED_VALUES` of them."""
        failed = {}
        for model_field in self.model._meta.fields:
            if model_field.name in self.foreign_keys or model_field.generated:
                continue
            raw = getattr(record, model_field.attname)
            if model_field.blank and raw in model_field.empty_values:
                continue
            answers = known.setdefault(model_field.attname, {})
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

    column_of = {"location_city": "location_city"}

    def _derived_codes(self, candidate, current, record) -> set[str]:
        cities = candidate.relations.get("counterpart_cities")
        organizations = candidate.relations.get("counterpart_organizations")
        codes = set()
        if cities is not None:
            codes.update(city.country_id for city in cities)
        elif record.pk:
            codes.update(self._country_of("counterpart_cities", current, record.pk))
        if organizations is not None:
            codes.update(org.country_id for org in organizations if org.country_id)
        elif record.pk:
            codes.update(self._country_of("counterpart_organizations", current, record.pk))
        return codes

    def _country_of(self, relation, current, record_id) -> set[str]:
        model = City if relation == "counterpart_cities" else Organization
        ids = [target for _, target in current.get(relation, {}).get(record_id, [])]
        return set(model.objects.filter(pk__in=ids, country__isnull=False).values_list("country_id", flat=True))

    # --- applying -----------------------------------------------------------------------------

    def apply(self, candidates, context, *, dry_run):
        existing = self._existing(candidates)
        record_ids = [records[0].pk for records in existing.values() if len(records) == 1]
        current = self._current_relations(record_ids) if record_ids else {}
        outcomes: list[Outcome | None] = [None] * len(candidates)
        plans: list[tuple[int, _Plan]] = []
        for index, candidate in enumerate(candidates):
            records = existing.get(index, [])
            if len(records) > 1:
                ids = ", ".join(str(record.pk) for record in records[:10])
                outcomes[index] = Outcome(
                    "error",
                    [
                        (
                            "title",
                            candidate.raw.get("title", ""),
                            f"{len(records)} existing {self.name} match this row (ids {ids}); give it an external_id.",
                        )
                    ],
                )
                continue
            planned = self._plan(candidate, records[0] if records else None, current, context)
            if isinstance(planned, Outcome):
                outcomes[index] = planned
            else:
                plans.append((index, planned))
                outcomes[index] = Outcome(CREATED if planned.creating else UPDATED)
        if plans and not dry_run:
            try:
                with transaction.atomic():
                    self._write([plan for _, plan in plans], context)
            except (IntegrityError, ValidationError) as error:
                if len(plans) == 1:
                    index, plan = plans[0]
                    outcomes[index] = Outcome("error", problems_from(_database_error(error), plan.candidate.raw))
                else:
                    # Find the culprit row by row; the others are written as planned.
                    for index, plan in plans:
                        outcomes[index] = self.apply([plan.candidate], context, dry_run=False)[0]
        return outcomes

    def _write(self, plans: list[_Plan], context: ImportContext) -> None:
        now = timezone.now()
        actor = context.actor if getattr(context.actor, "is_authenticated", False) else None
        creates = [plan.instance for plan in plans if plan.creating]
        updates = [plan for plan in plans if not plan.creating]
        for record in creates:
            record.created_at = record.updated_at = now
        insert_rows(self.model, creates)
        if updates:
            fields = {"version", "updated_at"}
            for plan in updates:
                plan.instance.version += 1
                plan.instance.updated_at = now
                fields.update(name for name in plan.candidate.data if name != "city")
            self.model.objects.bulk_update([plan.instance for plan in updates], sorted(fields))

        final: dict[str, dict[int, list[tuple[int, Any]]]] = {}
        cities, organizations = {}, {}
        for plan in plans:
            cities.update({c.pk: c.country_id for c in plan.candidate.relations.get("counterpart_cities", [])})
            organizations.update(
                {o.pk: o.country_id for o in plan.candidate.relations.get("counterpart_organizations", [])}
            )
        unknown_cities = {t for p in plans for t in p.relations["counterpart_cities"]} - set(cities)
        unknown_orgs = {t for p in plans for t in p.relations["counterpart_organizations"]} - set(organizations)
        cities.update(City.objects.filter(pk__in=unknown_cities).values_list("pk", "country_id"))
        organizations.update(Organization.objects.filter(pk__in=unknown_orgs).values_list("pk", "country_id"))
        for plan in plans:
            codes = set(plan.relations["named_countries"])
            codes.update(cities[pk] for pk in plan.relations["counterpart_cities"])
            codes.update(organizations[pk] for pk in plan.relations["counterpart_organizations"] if organizations[pk])
            plan.relations[DERIVED] = sorted(codes)
        current = self._current_relations([plan.instance.pk for plan in updates]) if updates else {}
        for relation in [*RELATION_COLUMNS.values(), DERIVED]:
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
        self._write_history(plans, final, actor, now)
        for plan in plans:
            # History was written above, in bulk; other receivers hear of the write as usual.
            plan.instance.skip_history_when_saving = True
            try:
                post_save.send(
                    sender=self.model,
                    instance=plan.instance,
                    created=plan.creating,
                    raw=False,
                    using=plan.instance._state.db,
                    update_fields=None,
                )
            finally:
                del plan.instance.skip_history_when_saving

    def _write_history(self, plans, final, actor, now) -> None:
        historical = self.model.history.model
        tracked = [field.attname for field in historical.tracked_fields]
        fixed = (now, actor.pk if actor else None, "")
        rows = [
            (*fixed, "+" if plan.creating else "~", *(getattr(plan.instance, name) for name in tracked))
            for plan in plans
        ]
        history_ids = insert_values(
            historical, ["history_date", "history_user_id", "history_change_reason", "history_type", *tracked], rows
        )
        for relation in RELATION_COLUMNS.values():
            field = next(f for f in historical._history_m2m_fields if f.name == relation)
            m2m_model = _m2m_history_model(self.model, field)
            _, source, target = self._through(relation)
            rows = [
                (history_id, through_id, plan.instance.pk, target_id)
                for history_id, plan in zip(history_ids, plans, strict=True)
                for through_id, target_id in final[relation].get(plan.instance.pk, [])
            ]
            insert_values(m2m_model, ["history_id", "id", f"{source}_id", f"{target}_id"], rows, returning=False)


def among(queryset, name: str, values) -> Any:
    """`queryset.filter(<name>__in=values)`; on PostgreSQL with the values as one array parameter:
    Django compiles a list of thousands of values slower than the database runs the query."""
    values = list(values)
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{name}__in": values})
    field = queryset.model._meta.get_field(name)
    column = f"{connection.ops.quote_name(queryset.model._meta.db_table)}.{connection.ops.quote_name(field.column)}"
    array_type = {"BigIntegerField": "bigint[]", "IntegerField": "integer[]"}.get(field.get_internal_type(), "text[]")
    # The column and type come from the model, never from input; the values are a parameter.
    matches = RawSQL(f"{column} IN (SELECT unnest(%s::{array_type}))", (values,), output_field=BooleanField())  # noqa: S611
    return queryset.filter(matches)


def insert_rows(model, instances: list) -> None:
    """Insert new instances and give them their ids (see `insert_values`)."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(instances)
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    # Field values go to COPY as they are: every field of these models holds a plain value
    # (text, number, date, time, boolean, id) that psycopg adapts itself.
    rows = [tuple(getattr(instance, field.attname) for field in fields) for instance in instances]
    ids = insert_values(model, [field.attname for field in fields], rows)
    for instance, pk in zip(instances, ids, strict=True):
        setattr(instance, meta.pk.attname, pk)
        instance._state.adding = False
        instance._state.db = connection.alias


def insert_values(model, attnames: list[str], rows: list[tuple], *, returning: bool = True) -> list[int]:
    """Insert rows of `attnames` values into `model`'s table; returns their new ids, or nothing
    when `returning` is false.

    On PostgreSQL one query draws the ids from the table's sequence and one COPY writes the rows:
    several times faster than `bulk_create`, which builds an INSERT of every value in Python.
    Rows whose ids nobody needs take them from the column's default, without the extra query.
    """
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows])
        return [instance.pk for instance in created] if returning else []
    quote = connection.ops.quote_name
    column_of = {field.attname: field.column for field in meta.concrete_fields}
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [value for (value,) in cursor.fetchall()]
            columns = ", ".join(quote(column_of[name]) for name in [meta.pk.attname, *attnames])
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row((pk, *row))
            return ids
        columns = ", ".join(quote(column_of[name]) for name in attnames)
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return []


def _m2m_history_model(model, field):
    from django.apps import apps

    return apps.get_model(model._meta.app_label, f"Historical{model.__name__}_{field.name}")


def _database_error(error: Exception) -> Exception:
    if isinstance(error, ValidationError):
        return error
    return ValidationError(f"The database refused this row: {str(error).splitlines()[0]}")


class AgreementKind(CityRecordKind):
    name = "agreements"
    identity = "external_id within the city when given, otherwise city + title + signed_on"
    model = Agreement
    columns = [
        "external_id",
        "city",
        "title",
        "kind",
        "status",
        "counterpart_cities",
        "counterpart_organizations",
        "topics",
        "signed_on",
        "effective_on",
        "expires_on",
        "visibility",
        "url",
        "summary",
        "counterpart_countries",
    ]
    required = ["city", "title", "kind", "status"]
    key_fields = ("title", "signed_on")
    date_order = ("signed_on", "expires_on")

    def scalars(self, row):
        data = {
            "kind": row.choice("kind", Agreement.Kind, required=True),
            "status": row.choice("status", Agreement.Status, required=True),
        }
        for name in ("signed_on", "effective_on", "expires_on"):
            if row.has(name):
                data[name] = row.date(name)
        if row.has("url"):
            data["url"] = row.text("url")
        return data


class EngagementKind(CityRecordKind):
    name = "engagements"
    identity = "external_id within the city when given, otherwise city + title + start_date"
    model = Engagement
    columns = [
        "external_id",
        "city",
        "title",
        "kind",
        "status",
        "start_date",
        "end_date",
        "location_city",
        "venue",
        "counterpart_cities",
        "counterpart_organizations",
        "topics",
        "visibility",
        "federal_coordination_requested",
        "summary",
        "outcomes",
        "counterpart_countries",
    ]
    required = ["city", "title", "kind", "status", "start_date"]
    key_fields = ("title", "start_date")
    date_order = ("start_date", "end_date")

    def scalars(self, row):
        data = {
            "kind": row.choice("kind", Engagement.Kind, required=True),
            "status": row.choice("status", Engagement.Status, required=True),
            "start_date": row.date("start_date", required=True),
        }
        if row.has("end_date"):
            data["end_date"] = row.date("end_date")
        if row.has("location_city"):
            data["location_city"] = row.city("location_city")
        for name in ("venue", "outcomes"):
            if row.has(name):
                data[name] = row.text(name)
        if row.has("federal_coordination_requested"):
            data["federal_coordination_requested"] = row.boolean("federal_coordination_requested")
        return data


KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (CityKind(), OrganizationKind(), MembershipKind(), AgreementKind(), EngagementKind())
}
