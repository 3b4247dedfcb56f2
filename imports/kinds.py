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
`cities.services`. Agreements and engagements come by the hundred thousand: the importer maps each
chunk's rows to the records they name and hands them to `engagements.services.plan_in_bulk` and
`write_planned` (together `save_in_bulk`), the set-wise half of the one write path, with the same
rules, history and events as a form's save.
"""

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from cities.models import City, NetworkMembership, Organization
from cities.services import save_city, save_membership, save_organization
from cities.text import fold
from engagements.models import Agreement, Engagement, Visibility
from engagements.services import BulkItem, BulkPlan, plan_in_bulk, prepare_planned, write_planned

from .rows import ImportContext, RowReader

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
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
    # The models whose tables an import of this kind fills (their statistics are refreshed after a
    # large one).
    models: tuple = ()
    columns: list[str] = []
    required: list[str] = []
    # The columns that take one of a fixed set of values: what `parse` checks them against, and
    # what the upload page lists (imports/help.py).
    choices: dict[str, Any] = {}
    # How a row finds the record it updates, in words for the upload page.
    identity = ""
    # Whether a chunk's rows can be matched and checked (`plan`) before the chunk's transaction
    # and written (`still_current`, `write`) in it, while the next chunk is planned.
    plans_ahead = False

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
    models = (City,)
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
    models = (Organization,)
    identity = "name + country"
    columns = ["name", "kind", "country", "city", "website"]
    required = ["name", "kind"]
    choices = {"kind": Organization.Kind}

    def parse(self, row):
        data: dict[str, Any] = {
            "name": row.text("name", required=True),
            "kind": row.choice("kind", self.choices["kind"], required=True),
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
    models = (NetworkMembership,)
    identity = "network + city + role + joined_on"
    columns = ["network", "city", "role", "joined_on", "left_on", "notes"]
    required = ["network", "city", "role"]
    choices = {"role": NetworkMembership.Role}

    def parse(self, row):
        network_name = row.text("network", required=True)
        network = row.context.network(network_name) if network_name else None
        if network_name and network is None:
            row.error("network", f"No network is called “{network_name}” (give its slug, name or acronym).")
        data: dict[str, Any] = {
            "network": network,
            "city": row.home_city("city"),
            "role": row.choice("role", self.choices["role"], required=True),
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


class CityRecordKind(Kind):
    """Agreements and engagements: each chunk's rows are matched to the records they name (one
    query), then checked and written by `plan_in_bulk` and `write_planned` in a fixed number of
    queries."""

    model: type = None
    key_fields: tuple[str, ...] = ()
    plans_ahead = True
    column_of = {"named_countries": "counterpart_countries"}

    @property
    def models(self) -> tuple:
        return (self.model, self.model.history.model)

    def scalars(self, row: RowReader) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, row):
        city = row.home_city("city")
        data = {"title": row.text("title", required=True)}
        data.update(self.scalars(row))
        if row.has("external_id"):
            data["external_id"] = row.text("external_id") or None
        if row.has("visibility"):
            data["visibility"] = row.choice("visibility", self.choices["visibility"], default=Visibility.INTERNAL)
        if row.has("summary"):
            data["summary"] = row.text("summary")
        relations = {}
        if row.has("counterpart_cities"):
            relations["counterpart_cities"] = row.cities("counterpart_cities")
        if row.has("counterpart_organizations"):
            relations["counterpart_organizations"] = row.organizations("counterpart_organizations")
        if row.has("topics"):
            relations["topics"] = row.topics("topics")
        if row.has("counterpart_countries"):
            relations["named_countries"] = row.countries("counterpart_countries")
        if row.problems:
            return None
        data["city"] = city
        if data.get("external_id"):
            key = (self.name, city.pk, "external_id", data["external_id"])
        else:
            key = (self.name, city.pk, *(data.get(name) for name in self.key_fields))
        return Candidate(row.number, key, data, relations, raw=row.values)

    def _existing(self, candidates: list[Candidate]) -> dict[int, list]:
        """The records each candidate names, by candidate index."""
        by_external, by_natural = {}, {}
        for index, candidate in enumerate(candidates):
            (by_external if candidate.key[2] == "external_id" else by_natural)[index] = candidate
        found: dict[int, list] = {}
        if by_external:
            records = self.model.objects.filter(
                city_id__in={c.data["city"].pk for c in by_external.values()},
                external_id__any_of={c.data["external_id"] for c in by_external.values()},
            )
            index_of = {(r.city_id, r.external_id): r for r in records}
            for index, candidate in by_external.items():
                record = index_of.get((candidate.data["city"].pk, candidate.data["external_id"]))
                found[index] = [record] if record else []
        if by_natural:
            records = self.model.objects.filter(
                city_id__in={c.data["city"].pk for c in by_natural.values()},
                title__any_of={c.data["title"] for c in by_natural.values()},
            ).order_by("pk")
            index_of: dict[tuple, list] = {}
            for record in records:
                key = (record.city_id, *(getattr(record, name) for name in self.key_fields))
                index_of.setdefault(key, []).append(record)
            for index, candidate in by_natural.items():
                key = (candidate.data["city"].pk, *(candidate.data.get(name) for name in self.key_fields))
                found[index] = index_of.get(key, [])
        return found

    def plan(self, candidates: list[Candidate], context: ImportContext) -> "PlannedRows":
        """Match the rows to their records and check the writes, writing nothing."""
        existing = self._existing(candidates)
        outcomes: list[Outcome | None] = [None] * len(candidates)
        items, item_of = [], []
        for index, candidate in enumerate(candidates):
            records = existing.get(index, [])
            if len(records) > 1:
                ids = ", ".join(str(record.pk) for record in records[:10])
                message = f"{len(records)} existing {self.name} match this row (ids {ids}); give it an external_id."
                outcomes[index] = Outcome("error", [("title", candidate.raw.get("title", ""), message)])
                continue
            items.append(BulkItem(records[0] if records else None, candidate.data, candidate.relations))
            item_of.append(index)
        # Read before planning, which changes the records in memory (not their versions).
        matched = _versions(existing)
        bulk = plan_in_bulk(self.model, actor=context.actor, items=items, remembered=context.cleaned)
        return PlannedRows(candidates, outcomes, item_of, bulk, matched)

    def prepare(self, planned: "PlannedRows") -> None:
        """Ready the planned writes to be sent by another thread (`prepare_planned`)."""
        prepare_planned(planned.bulk)

    def still_current(self, planned: "PlannedRows") -> bool:
        """Whether the rows still name the records they were planned with, at the same versions:
        false when another writer created or changed one of them in between."""
        return _versions(self._existing(planned.candidates)) == planned.matched

    def write(self, planned: "PlannedRows") -> list[Outcome]:
        return self._outcomes(planned, write_planned(planned.bulk))

    def apply(self, candidates, context, *, dry_run):
        planned = self.plan(candidates, context)
        return self._outcomes(planned, planned.bulk.outcomes) if dry_run else self.write(planned)

    def _outcomes(self, planned: "PlannedRows", written) -> list[Outcome]:
        outcomes = list(planned.outcomes)
        for index, outcome in zip(planned.item_of, written, strict=True):
            if outcome.error is None:
                outcomes[index] = _SETTLED[outcome.result]
            else:
                raw = planned.candidates[index].raw
                outcomes[index] = Outcome("error", problems_from(outcome.error, raw, self.column_of))
        return outcomes


# Read, never changed: one each, rather than one per row.
_SETTLED = {result: Outcome(result) for result in (CREATED, UPDATED, UNCHANGED)}


@dataclass(eq=False)
class PlannedRows:
    """A chunk's rows matched to their records and checked (`CityRecordKind.plan`), not written."""

    candidates: list[Candidate]
    outcomes: list[Outcome | None]
    item_of: list[int]
    bulk: BulkPlan
    matched: dict[int, list[tuple[int, int]]]


def _versions(existing: dict[int, list]) -> dict[int, list[tuple[int, int]]]:
    return {
        index: [(record.pk, record.version) for record in records] for index, records in existing.items() if records
    }


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
        "renewal_due_on",
        "authorized_by",
        "visibility",
        "url",
        "summary",
        "counterpart_countries",
    ]
    required = ["city", "title", "kind", "status"]
    choices = {"kind": Agreement.Kind, "status": Agreement.Status, "visibility": Visibility}
    key_fields = ("title", "signed_on")

    def scalars(self, row):
        data = {
            "kind": row.choice("kind", self.choices["kind"], required=True),
            "status": row.choice("status", self.choices["status"], required=True),
        }
        for name in ("signed_on", "effective_on", "expires_on", "renewal_due_on"):
            if row.has(name):
                data[name] = row.date(name)
        for name in ("url", "authorized_by"):
            if row.has(name):
                data[name] = row.text(name)
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
    choices = {"kind": Engagement.Kind, "status": Engagement.Status, "visibility": Visibility}
    key_fields = ("title", "start_date")

    def scalars(self, row):
        data = {
            "kind": row.choice("kind", self.choices["kind"], required=True),
            "status": row.choice("status", self.choices["status"], required=True),
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
