"""A small world for the dashboards: two US home cities (Los Angeles, US-CA and Chicago, US-IL)
with engagements and agreements of every visibility, counterparts in Japan and Germany, and a
record of what was made so tests can count what each person should see without the database."""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from engagements.services import save_agreement, save_engagement
from tests import factories


@dataclass
class Made:
    """One engagement as the test wrote it."""

    pk: int
    city_id: int
    state: str
    visibility: str
    start: dt.date
    kind: str
    topics: tuple[str, ...]
    countries: tuple[str, ...]


@dataclass
class World:
    today: dt.date
    engagements: list[Made] = field(default_factory=list)
    agreements: dict[str, object] = field(default_factory=dict)

    def visible_to(self, role: str, home_city_id: int | None = None) -> list[Made]:
        """SPEC §2, written out by hand: what `role` may see."""

        def may_see(made: Made) -> bool:
            if made.visibility == "public" or role in ("liaison", "admin"):
                return True
            return role == "staff" and (made.visibility == "internal" or made.city_id == home_city_id)

        return [made for made in self.engagements if may_see(made)]


@pytest.fixture
def berlin(db):
    return factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="", population=3_600_000)


def make_engagement(
    world: World,
    actor,
    city,
    *,
    visibility,
    start,
    counterparts,
    topics,
    kind="bilateral_meeting",
    federal=False,
    title=None,
):
    engagement = save_engagement(
        actor=actor,
        data={
            "city": city,
            "title": title or f"{city.name} {kind} ({visibility}) {start}",
            "kind": kind,
            "status": "completed",
            "start_date": start,
            "visibility": visibility,
            "federal_coordination_requested": federal,
            "counterpart_cities": counterparts,
            "topics": [factories.topic(slug) for slug in topics],
        },
    )
    world.engagements.append(
        Made(
            pk=engagement.pk,
            city_id=city.pk,
            state=city.subdivision,
            visibility=visibility,
            start=start,
            kind=kind,
            topics=tuple(topics),
            countries=tuple(sorted({other.country_id for other in counterparts})),
        )
    )
    return engagement


@pytest.fixture
def world(cast, city_a, city_b, foreign_city, berlin):
    admin = cast["admin"]
    today = timezone.localdate()
    this_year = dt.date(today.year, 1, 15)
    last_year = dt.date(today.year - 1, 6, 15)
    world = World(today=today)
    for city in (city_a, city_b):
        for visibility in ("public", "internal", "restricted"):
            make_engagement(
                world,
                admin,
                city,
                visibility=visibility,
                start=this_year,
                counterparts=[foreign_city],
                topics=["climate"],
            )
    make_engagement(
        world,
        admin,
        city_b,
        visibility="public",
        start=last_year,
        counterparts=[berlin],
        topics=["trade-investment"],
        kind="trade_mission",
    )
    make_engagement(
        world,
        admin,
        city_b,
        visibility="restricted",
        start=last_year,
        counterparts=[berlin, foreign_city],
        topics=["climate", "trade-investment"],
        kind="trade_mission",
    )
    for city in (city_a, city_b):
        for visibility in ("public", "internal", "restricted"):
            world.agreements[f"{city.subdivision}-{visibility}"] = save_agreement(
                actor=admin,
                data={
                    "city": city,
                    "title": f"{city.name} sister cities ({visibility})",
                    "kind": "sister_city",
                    "status": "active",
                    "visibility": visibility,
                    "signed_on": dt.date(2020, 5, 1),
                    "expires_on": today + dt.timedelta(days=30),
                    "counterpart_cities": [foreign_city],
                },
            )
    network = factories.NetworkFactory(slug="c40", name="C40 Cities")
    factories.MembershipFactory(network=network, city=city_a, role="steering_committee", joined_on=dt.date(2010, 3, 1))
    factories.MembershipFactory(
        network=network, city=city_b, role="member", joined_on=dt.date(2012, 1, 1), left_on=dt.date(2015, 1, 1)
    )
    return world
