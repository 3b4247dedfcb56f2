"""Demo data: the real offices, memberships and agreements shipped in `cities/data/`, demo
users, and generated engagements (marked `is_demo`) so every page has something to show.

Everything is keyed naturally and compared before writing, so seeding twice changes nothing.
"""

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from accounts.models import PortfolioState, Role, User
from cities.models import City, InternationalAffairsOffice, Network, NetworkMembership, Topic
from cities.reference_data import read_csv
from cities.references import CityReferenceError, CityResolver
from cities.services import save_membership, save_office
from contacts.services import likely_duplicates, save_contact

from .models import Agreement, Engagement
from .services import save_agreement, save_engagement

DEMO_PASSWORD = "diplomacy-demo"  # noqa: S105 - the documented password of the demo accounts
DEMO_SEED = 2026
DEMO_ENGAGEMENTS = 240
# Demo engagements spread over a fixed window so reseeding on another day changes nothing.
DEMO_START = dt.date(2025, 1, 1)
DEMO_DAYS = 900


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _differs(record, scalars: Mapping[str, Any], relations: Mapping[str, list]) -> bool:
    if any(getattr(record, key) != value for key, value in scalars.items()):
        return True
    return any(
        {obj.pk for obj in getattr(record, name).all()} != {obj.pk for obj in values}
        for name, values in relations.items()
    )


def upsert_city_record(model, save, *, actor, city: City, external_id: str, data: dict, relations: dict) -> str:
    """Create or change the record of `city` with `external_id`; 'created', 'updated' or 'unchanged'."""
    record = model.objects.filter(city=city, external_id=external_id).first()
    if record is None:
        save(actor=actor, data={"city": city, "external_id": external_id, **data, **relations})
        return "created"
    if not _differs(record, data, relations):
        return "unchanged"
    save(actor=actor, data={**data, **relations}, **{model._meta.model_name: record})
    return "updated"


def load_offices(resolver: CityResolver, actor) -> None:
    for row in read_csv("offices.csv"):
        city = resolver.resolve(row["city"])
        data = {
            "city": city,
            "name": row["name"],
            "established_on": dt.date(int(row["established_year"]), 1, 1) if row["established_year"] else None,
            "website": row["source"],
            "mandate": row["notes"],
        }
        office = InternationalAffairsOffice.objects.filter(city=city).first()
        if office is None or any(getattr(office, key) != value for key, value in data.items()):
            save_office(actor=actor, office=office, data=data)


def load_memberships(resolver: CityResolver, actor) -> None:
    networks = {network.slug: network for network in Network.objects.all()}
    for row in read_csv("memberships.csv"):
        data = {
            "network": networks[row["network"]],
            "city": resolver.resolve(row["city"]),
            "role": row["role"],
            "joined_on": _date(row["joined_on"]),
            "left_on": _date(row["left_on"]),
            "notes": row["notes"],
        }
        current = NetworkMembership.objects.filter(
            network=data["network"], city=data["city"], role=data["role"]
        ).first()
        if current is None or any(getattr(current, key) != value for key, value in data.items()):
            save_membership(actor=actor, membership=current, data=data)


def load_agreements(resolver: CityResolver, actor) -> None:
    topics = {topic.slug: topic for topic in Topic.objects.all()}
    for row in read_csv("agreements.csv"):
        data = {
            "title": row["title"],
            "kind": row["kind"],
            "status": row["status"],
            "signed_on": _date(row["signed_on"]),
            "effective_on": _date(row["effective_on"]),
            "expires_on": _date(row["expires_on"]),
            "visibility": row["visibility"] or "internal",
            "url": row["url"],
            "summary": row["summary"],
        }
        relations = {
            "counterpart_cities": resolver.resolve_many(row["counterpart_cities"]),
            "topics": [topics[slug] for slug in row["topics"].split(";") if slug],
        }
        upsert_city_record(
            Agreement,
            save_agreement,
            actor=actor,
            city=resolver.resolve(row["city"]),
            external_id=row["external_id"],
            data=data,
            relations=relations,
        )


def ensure_user(username: str, *, role: str, cities=(), portfolio=(), portfolio_all=False) -> User:
    """A demo account with the shared demo password, created once and left alone afterwards."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    user = User(username=username, role=role, email=f"{username}@example.org", portfolio_all=portfolio_all)
    user.is_superuser = user.is_staff = role == Role.ADMIN
    user.set_password(DEMO_PASSWORD)
    user.save()
    user.home_cities.set(cities)
    PortfolioState.objects.bulk_create([PortfolioState(user=user, subdivision=code) for code in portfolio])
    return user


DEMO_TITLES = {
    Engagement.Kind.INBOUND_DELEGATION: "Delegation from {place} visits {home}",
    Engagement.Kind.OUTBOUND_DELEGATION: "{home} mission to {place}",
    Engagement.Kind.BILATERAL_MEETING: "Meeting with the mayor of {place}",
    Engagement.Kind.VIRTUAL_MEETING: "Video call with {place} city hall",
    Engagement.Kind.TRADE_MISSION: "Trade mission to {place}",
    Engagement.Kind.CULTURAL_EXCHANGE: "Cultural exchange with {place}",
    Engagement.Kind.CONFERENCE: "Urban climate conference in {place}",
    Engagement.Kind.DIGNITARY_VISIT: "Consul general of {country} visits {home}",
}


def generate_engagements(actor, count: int = DEMO_ENGAGEMENTS) -> None:
    """Plausible engagements between the demo cities and their real agreement partners."""
    rng = random.Random(DEMO_SEED)
    partners: dict[City, list[City]] = {}
    for agreement in (
        Agreement.objects.filter(is_demo=False).select_related("city").prefetch_related("counterpart_cities__country")
    ):
        partners.setdefault(agreement.city, []).extend(agreement.counterpart_cities.all())
    homes = sorted((city for city in partners if partners[city]), key=lambda city: city.pk)
    topics = list(Topic.objects.order_by("slug"))
    kinds = list(DEMO_TITLES)
    visibilities = ["public"] * 4 + ["internal"] * 5 + ["restricted"]
    for number in range(1, count + 1):
        home = rng.choice(homes)
        place = rng.choice(partners[home])
        kind = rng.choice(kinds)
        start = DEMO_START + dt.timedelta(days=rng.randrange(DEMO_DAYS))
        data = {
            "title": DEMO_TITLES[kind].format(place=place.name, home=home.name, country=place.country.name),
            "kind": kind,
            "status": "completed" if start < dt.date(2026, 11, 1) else rng.choice(["planned", "confirmed"]),
            "start_date": start,
            "end_date": start + dt.timedelta(days=rng.choice([0, 0, 1, 2, 4])),
            "location_city": place if kind in ("outbound_delegation", "trade_mission", "conference") else home,
            "visibility": rng.choice(visibilities),
            "federal_coordination_requested": rng.random() < 0.12,
            "summary": "Demonstration record generated for the demo data set.",
            "is_demo": True,
        }
        relations = {"counterpart_cities": [place], "topics": rng.sample(topics, rng.choice([1, 1, 2, 3]))}
        upsert_city_record(
            Engagement,
            save_engagement,
            actor=actor,
            city=home,
            external_id=f"DEMO-{number:04d}",
            data=data,
            relations=relations,
        )


# A few people in Los Angeles's contact directory (fictional; SPEC §8.4).
DEMO_CONTACTS = [
    ("Aiko Nakamura", "Director, International Relations", "City of Nagoya", "Nagoya, JP", "Japanese, English"),
    ("Lukas Brandt", "Head of Protocol", "Senate Chancellery of Berlin", "Berlin, DE", "German, English"),
    (
        "María José Ortega",
        "Consul for Economic Affairs",
        "Consulate General of Mexico in Los Angeles",
        "Los Angeles, US-CA",
        "Spanish, English",
    ),
    (
        "Chen Wei",
        "Deputy Director, Foreign Affairs Office",
        "Guangzhou Municipal Government",
        "Guangzhou, CN",
        "Mandarin, English",
    ),
]


def load_contacts(resolver: CityResolver, actor, home: City) -> None:
    """The demo contacts of `home`, added once (a contact already kept is left as it is)."""
    for name, title, organization, place, languages in DEMO_CONTACTS:
        if likely_duplicates(home_city_id=home.pk, name=name, organization=organization).exists():
            continue
        try:
            city = resolver.resolve(place)
        except CityReferenceError:
            city = None
        save_contact(
            actor=actor,
            data={
                "home_city": home,
                "name": name,
                "title": title,
                "organization": organization,
                "city": city,
                "languages": languages,
                "notes": "Demonstration contact.",
            },
        )


@transaction.atomic
def seed_records(resolver: CityResolver) -> dict[str, User]:
    admin = ensure_user("admin", role=Role.ADMIN)
    load_offices(resolver, admin)
    load_memberships(resolver, admin)
    load_agreements(resolver, admin)
    los_angeles = resolver.resolve("Los Angeles, US-CA")
    users = {
        "admin": admin,
        "staff": ensure_user("la.staff", role=Role.STAFF, cities=[los_angeles]),
        "staff_nyc": ensure_user("nyc.staff", role=Role.STAFF, cities=[resolver.resolve("New York City, US-NY")]),
        "liaison": ensure_user("liaison", role=Role.LIAISON, portfolio_all=True),
        "liaison_west": ensure_user("liaison.west", role=Role.LIAISON, portfolio=["US-CA", "US-WA", "US-OR"]),
        "partner": ensure_user("partner", role=Role.PARTNER),
    }
    generate_engagements(admin)
    load_contacts(resolver, admin, los_angeles)
    return users
