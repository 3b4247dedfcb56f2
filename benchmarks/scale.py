"""Synthetic engagements and agreements at national scale, for benchmarks (`manage.py seed_scale`).

The data is shaped like the real thing, not uniform: a few large US cities log most of the work
(Zipf over population rank), counterparts cluster in a few partner countries and their largest
cities, a few topics and kinds dominate, recent years hold more engagements than old ones, and
most records are internal. The same seed gives the same records (ids aside) on any database holding
the same reference data, because every choice is drawn from one seeded generator over cities
ranked by population and GeoNames id rather than by database id.

On PostgreSQL the rows and their many-to-many rows go in with COPY; elsewhere with bulk_create.
Rows are marked `is_demo` and carry an external id `scale-<seed>-e<n>` (agreements `-a<n>`), so
they can be found and replaced. No history rows are written: nobody edited these records.
"""

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction

from cities.models import City, Topic
from engagements.models import Agreement, Engagement, FollowUp, Participant, Review, Visibility
from engagements.write_path import write_path

EXTERNAL_ID_PREFIX = "scale-"
CHUNK_ROWS = 50_000
# A fixed window, so the same seed gives the same dates whatever day it runs.
FIRST_ENGAGEMENT_DAY = dt.date(2005, 1, 1)
LAST_ENGAGEMENT_DAY = dt.date(2027, 6, 30)
FIRST_SIGNING_DAY = dt.date(1960, 1, 1)
LAST_SIGNING_DAY = dt.date(2026, 6, 30)
HOME_CITIES = 400
COUNTERPART_CITIES_PER_COUNTRY = 60
# Countries US cities work with most, in order; the rest follow by the population of their cities.
PARTNER_COUNTRIES = [
    "MX",
    "CA",
    "CN",
    "JP",
    "GB",
    "DE",
    "KR",
    "FR",
    "IN",
    "IL",
    "BR",
    "IT",
    "TW",
    "ES",
    "IE",
    "NL",
    "PH",
    "VN",
    "NG",
    "UA",
    "AU",
    "CO",
    "GH",
    "KE",
    "SV",
    "GT",
    "PL",
    "TR",
    "ZA",
    "AR",
]

VISIBILITY_WEIGHTS = {Visibility.INTERNAL: 65, Visibility.PUBLIC: 28, Visibility.RESTRICTED: 7}
ENGAGEMENT_KIND_WEIGHTS = {
    "bilateral_meeting": 22,
    "inbound_delegation": 18,
    "outbound_delegation": 12,
    "virtual_meeting": 12,
    "conference": 10,
    "cultural_exchange": 7,
    "trade_mission": 5,
    "multilateral_summit": 4,
    "dignitary_visit": 4,
    "public_statement": 3,
    "agreement_signing": 2,
    "other": 1,
}
AGREEMENT_KIND_WEIGHTS = {
    "sister_city": 35,
    "memorandum_of_understanding": 30,
    "cooperation_agreement": 15,
    "friendship_city": 10,
    "letter_of_intent": 5,
    "declaration": 3,
    "other": 2,
}
AGREEMENT_STATUS_WEIGHTS = {
    "active": 50,
    "signed": 15,
    "expired": 15,
    "terminated": 7,
    "proposed": 5,
    "negotiating": 5,
    "suspended": 3,
}
# Topics in order of how often they come up.
TOPIC_ORDER = [
    "trade-investment",
    "culture-education",
    "climate",
    "technology-innovation",
    "sustainable-development",
    "urban-infrastructure",
    "tourism",
    "public-health",
    "migration-refugees",
    "human-rights",
    "cybersecurity",
    "security-counterterrorism",
    "peace-reconciliation",
    "other",
]
# How many counterpart cities an engagement names (none for statements and many summits).
COUNTERPARTS_PER_ENGAGEMENT = {0: 20, 1: 60, 2: 15, 3: 5}
TOPICS_PER_RECORD = {1: 55, 2: 35, 3: 10}

ENGAGEMENT_COLUMNS = [
    "id",
    "city_id",
    "title",
    "summary",
    "visibility",
    "external_id",
    "is_demo",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
    "kind",
    "status",
    "start_date",
    "end_date",
    "location_city_id",
    "venue",
    "outcomes",
    "agreement_id",
    "federal_coordination_requested",
    "review_status",
]
AGREEMENT_COLUMNS = [
    "id",
    "city_id",
    "title",
    "summary",
    "visibility",
    "external_id",
    "is_demo",
    "created_by_id",
    "created_at",
    "updated_at",
    "version",
    "kind",
    "status",
    "signed_on",
    "effective_on",
    "expires_on",
    "url",
    "authorized_by",
]
RELATIONS = ["topics", "counterpart_cities", "counterpart_countries"]


class Weighted:
    """Draws from `items` with the given weights, in O(log n) per draw."""

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    @classmethod
    def zipf(cls, items: Sequence, exponent: float = 1.0) -> "Weighted":
        return cls(items, [1 / (rank**exponent) for rank in range(1, len(items) + 1)])

    @classmethod
    def of(cls, weights: dict) -> "Weighted":
        return cls(list(weights), list(weights.values()))

    def draw(self, rng: random.Random):
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


@dataclass(frozen=True)
class ForeignCity:
    id: int
    name: str
    country_id: str


@dataclass
class Universe:
    """The reference data the generator draws from."""

    home_cities: Weighted
    home_names: dict[int, str]
    countries: Weighted
    cities_by_country: dict[str, Weighted]
    topics_ranked: Weighted

    @classmethod
    def load(cls) -> "Universe":
        homes = list(
            City.objects.filter(country_id="US", population__isnull=False)
            .order_by("-population", "geonames_id", "slug")
            .values_list("id", "name")[:HOME_CITIES]
        )
        if len(homes) < 2:
            raise ValueError("seed_scale needs the US cities: run `manage.py seed_demo` first.")
        by_country: dict[str, list[ForeignCity]] = {}
        population_of: dict[str, int] = {}
        for pk, name, country, population in (
            City.objects.exclude(country_id="US")
            .filter(population__isnull=False)
            .order_by("-population", "geonames_id", "slug")
            .values_list("id", "name", "country_id", "population")
        ):
            cities = by_country.setdefault(country, [])
            if len(cities) < COUNTERPART_CITIES_PER_COUNTRY:
                cities.append(ForeignCity(pk, name, country))
                population_of[country] = population_of.get(country, 0) + population
        if not by_country:
            raise ValueError("seed_scale needs cities outside the US: run `manage.py seed_demo` first.")
        countries = [code for code in PARTNER_COUNTRIES if code in by_country]
        countries += sorted(set(by_country) - set(countries), key=lambda code: (-population_of[code], code))
        topic_ids = dict(Topic.objects.values_list("slug", "id"))
        if not topic_ids:
            raise ValueError("seed_scale needs the topics: run `manage.py migrate` first.")
        ranked = [topic_ids[slug] for slug in TOPIC_ORDER if slug in topic_ids]
        ranked += sorted(set(topic_ids.values()) - set(ranked))
        return cls(
            home_cities=Weighted.zipf([pk for pk, _ in homes], 1.1),
            home_names=dict(homes),
            countries=Weighted.zipf(countries, 1.2),
            cities_by_country={code: Weighted.zipf(cities, 1.0) for code, cities in by_country.items()},
            topics_ranked=Weighted.zipf(ranked, 0.9),
        )

    def counterparts(self, rng: random.Random, how_many: int) -> list[ForeignCity]:
        chosen: dict[int, ForeignCity] = {}
        for _ in range(how_many):
            city = self.cities_by_country[self.countries.draw(rng)].draw(rng)
            chosen[city.id] = city
        return list(chosen.values())

    def topics(self, rng: random.Random, how_many: int) -> list[int]:
        return sorted({self.topics_ranked.draw(rng) for _ in range(how_many)})


@dataclass
class Batch:
    """Rows of one table in `columns` order, and the many-to-many pairs (record id, other id)."""

    columns: list[str]
    rows: list[tuple] = field(default_factory=list)
    relations: dict[str, list[tuple]] = field(default_factory=lambda: {name: [] for name in RELATIONS})

    def relate(self, record_id: int, cities: list[ForeignCity], topic_ids: list[int]) -> None:
        self.relations["topics"].extend((record_id, topic) for topic in topic_ids)
        self.relations["counterpart_cities"].extend((record_id, city.id) for city in cities)
        countries = sorted({city.country_id for city in cities})
        self.relations["counterpart_countries"].extend((record_id, code) for code in countries)


def _recent_day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    """A day in [first, last], more likely the later it is (density grows linearly)."""
    span = (last - first).days
    return first + dt.timedelta(days=int(span * rng.random() ** 0.5))


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


class Generator:
    """Draws agreements, then engagements, from one seeded random sequence."""

    def __init__(self, universe: Universe, seed: int):
        self.universe = universe
        self.seed = seed
        self.rng = random.Random(seed)
        self.visibility = Weighted.of(VISIBILITY_WEIGHTS)
        self.engagement_kinds = Weighted.of(ENGAGEMENT_KIND_WEIGHTS)
        self.agreement_kinds = Weighted.of(AGREEMENT_KIND_WEIGHTS)
        self.agreement_statuses = Weighted.of(AGREEMENT_STATUS_WEIGHTS)
        self.counterpart_count = Weighted.of(COUNTERPARTS_PER_ENGAGEMENT)
        self.topic_count = Weighted.of(TOPICS_PER_RECORD)
        self.kind_labels = dict(Engagement.Kind.choices) | dict(Agreement.Kind.choices)
        # Agreements generated so far, by city, so engagements can belong to one of their city's.
        self.agreements_by_city: dict[int, list[int]] = {}

    def agreements(self, count: int, first_id: int) -> Iterator[Batch]:
        rng, names = self.rng, self.universe.home_names
        for start in range(0, count, CHUNK_ROWS):
            batch = Batch(AGREEMENT_COLUMNS)
            for number in range(start, min(start + CHUNK_ROWS, count)):
                pk = first_id + number
                city = self.universe.home_cities.draw(rng)
                partners = self.universe.counterparts(rng, 1 if rng.random() < 0.9 else 2)
                kind = self.agreement_kinds.draw(rng)
                signed = _recent_day(rng, FIRST_SIGNING_DAY, LAST_SIGNING_DAY)
                expires = None if rng.random() < 0.4 else signed + dt.timedelta(days=rng.randrange(365, 3650))
                title = f"{self.kind_labels[kind]}: {names[city]} and {' and '.join(c.name for c in partners)}"
                batch.rows.append(
                    (
                        pk,
                        city,
                        title,
                        "",
                        self.visibility.draw(rng),
                        f"{EXTERNAL_ID_PREFIX}{self.seed}-a{number}",
                        True,
                        None,
                        _moment(signed),
                        _moment(signed),
                        1,
                        kind,
                        self.agreement_statuses.draw(rng),
                        signed,
                        signed,
                        expires,
                        "",
                        "",
                    )
                )
                batch.relate(pk, partners, self.universe.topics(rng, self.topic_count.draw(rng)))
                self.agreements_by_city.setdefault(city, []).append(pk)
            yield batch

    def engagements(self, count: int, first_id: int) -> Iterator[Batch]:
        rng, names = self.rng, self.universe.home_names
        for start in range(0, count, CHUNK_ROWS):
            batch = Batch(ENGAGEMENT_COLUMNS)
            for number in range(start, min(start + CHUNK_ROWS, count)):
                pk = first_id + number
                city = self.universe.home_cities.draw(rng)
                kind = self.engagement_kinds.draw(rng)
                partners = self.universe.counterparts(rng, self.counterpart_count.draw(rng))
                day = _recent_day(rng, FIRST_ENGAGEMENT_DAY, LAST_ENGAGEMENT_DAY)
                status = self._status(day)
                if kind == "outbound_delegation" and partners:
                    location, venue = partners[0].id, ""
                else:
                    location, venue = city, "City Hall"
                with_whom = " and ".join(c.name for c in partners) or "partners"
                own_agreements = self.agreements_by_city.get(city)
                agreement = rng.choice(own_agreements) if own_agreements and rng.random() < 0.05 else None
                batch.rows.append(
                    (
                        pk,
                        city,
                        f"{self.kind_labels[kind]}: {names[city]} with {with_whom}",
                        f"Generated engagement {number} for scale benchmarks.",
                        self.visibility.draw(rng),
                        f"{EXTERNAL_ID_PREFIX}{self.seed}-e{number}",
                        True,
                        None,
                        _moment(min(day, LAST_SIGNING_DAY) - dt.timedelta(days=14)),
                        _moment(day),
                        1,
                        kind,
                        status,
                        day,
                        day + dt.timedelta(days=rng.choice((0, 0, 0, 1, 2, 4))),
                        location,
                        venue,
                        "",
                        agreement,
                        rng.random() < 0.03,
                        Engagement.ReviewStatus.UNREVIEWED,
                    )
                )
                batch.relate(pk, partners, self.universe.topics(rng, self.topic_count.draw(rng)))
            yield batch

    def _status(self, day: dt.date) -> str:
        roll = self.rng.random()
        if day < LAST_SIGNING_DAY:
            return "cancelled" if roll < 0.05 else "completed"
        return "planned" if roll < 0.6 else "confirmed"


@dataclass
class Report:
    agreements: int
    engagements: int
    relation_rows: int
    first_engagement_id: int | None
    method: str


def _through(model, relation: str):
    m2m = model._meta.get_field(relation)
    through = m2m.remote_field.through
    return through, f"{m2m.m2m_column_name()}", f"{m2m.m2m_reverse_name()}"


def _next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _filter_arrays(batch: Batch) -> tuple[dict, dict]:
    """Each record's topic slugs and counterpart country codes, sorted bytewise as the triggers
    of engagements/migrations/0004 keep them: written with the rows, so the triggers that follow
    the relations' COPY find every array already right and rewrite no row."""
    slugs = dict(Topic.objects.values_list("pk", "slug"))
    topics, countries = {}, {}
    for record_id, topic_id in batch.relations["topics"]:
        topics.setdefault(record_id, []).append(slugs[topic_id])
    for record_id, code in batch.relations["counterpart_countries"]:
        countries.setdefault(record_id, []).append(code)
    return topics, countries


def _write_copy(model, batch: Batch) -> int:
    written = 0
    topics, countries = _filter_arrays(batch)
    columns = [*batch.columns, "topic_slugs", "counterpart_country_codes"]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in batch.rows:
                copy.write_row((*row, sorted(set(topics.get(row[0], ()))), sorted(set(countries.get(row[0], ())))))
        for relation, pairs in batch.relations.items():
            through, own, other = _through(model, relation)
            with raw.copy(f"COPY {through._meta.db_table} ({own}, {other}) FROM STDIN") as copy:
                for pair in pairs:
                    copy.write_row(pair)
            written += len(pairs)
    return written


def _write_orm(model, batch: Batch) -> int:
    attname_of = {field.column: field.attname for field in model._meta.concrete_fields}
    fields = [attname_of[column] for column in batch.columns[1:]]
    model.objects.bulk_create(
        [model(pk=row[0], **dict(zip(fields, row[1:], strict=True))) for row in batch.rows], batch_size=2000
    )
    written = 0
    for relation, pairs in batch.relations.items():
        through, own, other = _through(model, relation)
        through.objects.bulk_create([through(**{own: a, other: b}) for a, b in pairs], batch_size=5000)
        written += len(pairs)
    return written


def _reset_sequences(models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608 - table names from models
            )


def scale_models() -> list:
    """Every model whose table `seed_scale` fills."""
    models = [Agreement, Engagement, Participant, FollowUp, Review]
    return [*models, *(model.history.model for model in models)]


def scale_records():
    """The generated records of both kinds, as two querysets."""
    return (
        Agreement.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX, is_demo=True),
        Engagement.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX, is_demo=True),
    )


# Load data for benchmarks, written straight into the tables: it enters the write path itself.
@write_path()
@transaction.atomic
def delete_scale_records() -> int:
    """Remove everything an earlier `seed_scale` wrote; returns how many records went."""
    agreements, engagements = scale_records()
    removed = 0
    for model, records in ((Engagement, engagements), (Agreement, agreements)):
        ids = records.values("pk")
        for relation in ["counterpart_organizations", "named_countries", *RELATIONS]:
            through, own, _ = _through(model, relation)
            through.objects.filter(**{f"{own}__in": ids}).delete()
        if model is Engagement:
            for child in (Participant, FollowUp, Review):
                child.objects.filter(engagement_id__in=ids).delete()
        else:
            Engagement.objects.filter(agreement_id__in=ids).update(agreement=None)
        removed += records._raw_delete(records.db)
    return removed


@write_path()
@transaction.atomic
def seed_scale(*, engagements: int, agreements: int, seed: int, use_copy: bool | None = None) -> Report:
    """Write `agreements` agreements and `engagements` engagements drawn with `seed`."""
    if engagements < 0 or agreements < 0:
        raise ValueError("counts must not be negative")
    use_copy = connection.vendor == "postgresql" if use_copy is None else use_copy
    if use_copy:
        with connection.cursor() as cursor:
            # Ids are handed out here, not by the sequence: keep other writers out meanwhile.
            cursor.execute(
                f"LOCK TABLE {Agreement._meta.db_table}, {Engagement._meta.db_table} IN SHARE ROW EXCLUSIVE MODE"
            )
    write = _write_copy if use_copy else _write_orm
    generator = Generator(Universe.load(), seed)
    relation_rows = 0
    first_agreement = _next_id(Agreement)
    for batch in generator.agreements(agreements, first_agreement):
        relation_rows += write(Agreement, batch)
    first_engagement = _next_id(Engagement)
    for batch in generator.engagements(engagements, first_engagement):
        relation_rows += write(Engagement, batch)
    _reset_sequences([Agreement, Engagement])
    return Report(
        agreements=agreements,
        engagements=engagements,
        relation_rows=relation_rows,
        first_engagement_id=first_engagement if engagements else None,
        method="COPY" if use_copy else "bulk_create",
    )
