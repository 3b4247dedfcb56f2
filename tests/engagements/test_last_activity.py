"""An agreement's `last_activity_on` follows the engagements written through the write path: the
latest start date of a non-cancelled engagement linked to it, or of its city with one of its
counterpart cities (SPEC §8.3). New engagements raise it from their own dates alone
(`raise_last_activity`); changed ones recompute it (`refresh_last_activity`); either way it
equals a recompute of every agreement from scratch."""

import datetime as dt
import random

import pytest

from engagements import lifecycle, services
from engagements.bulk import BulkItem, save_in_bulk
from engagements.models import Agreement, Engagement
from tests import factories


@pytest.fixture
def pact(city_a, foreign_city):
    agreement = factories.AgreementFactory(city=city_a, last_activity_on=None)
    agreement.counterpart_cities.add(foreign_city)
    return agreement


def last_activity(agreement) -> dt.date | None:
    agreement.refresh_from_db(fields=["last_activity_on"])
    return agreement.last_activity_on


def assert_equals_a_full_recompute():
    before = dict(Agreement.objects.values_list("pk", "last_activity_on"))
    lifecycle.refresh_last_activity()
    assert dict(Agreement.objects.values_list("pk", "last_activity_on")) == before


def engagement(actor, city, day: dt.date, **data):
    return services.save_engagement(
        actor=actor,
        data={"city": city, "title": "Visit", "kind": "bilateral_meeting", "status": "planned", "start_date": day}
        | data,
    )


def test_a_new_engagement_with_a_shared_counterpart_raises_it_and_an_older_one_does_not_lower_it(
    admin_user, pact, city_a, foreign_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        engagement(admin_user, city_a, dt.date(2025, 6, 1), counterpart_cities=[foreign_city])
    assert last_activity(pact) == dt.date(2025, 6, 1)

    with django_capture_on_commit_callbacks(execute=True):
        engagement(admin_user, city_a, dt.date(2024, 1, 1), counterpart_cities=[foreign_city])
        engagement(admin_user, city_a, dt.date(2026, 2, 1), counterpart_cities=[foreign_city], status="cancelled")
    assert last_activity(pact) == dt.date(2025, 6, 1)
    assert_equals_a_full_recompute()


def test_a_linked_engagement_raises_it_and_moving_it_earlier_lowers_it_again(
    admin_user, pact, city_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record = engagement(admin_user, city_a, dt.date(2026, 1, 15), agreement=pact)
    assert last_activity(pact) == dt.date(2026, 1, 15)

    with django_capture_on_commit_callbacks(execute=True):
        services.save_engagement(actor=admin_user, engagement=record, data={"start_date": dt.date(2023, 3, 1)})
    assert last_activity(pact) == dt.date(2023, 3, 1)
    assert_equals_a_full_recompute()


def test_an_engagement_of_another_city_or_counterpart_leaves_it_alone(
    admin_user, pact, city_a, city_b, foreign_city, django_capture_on_commit_callbacks
):
    elsewhere = factories.CityFactory(name="Hamburg", country=factories.country("DE"), subdivision="")
    with django_capture_on_commit_callbacks(execute=True):
        engagement(admin_user, city_b, dt.date(2026, 1, 1), counterpart_cities=[foreign_city])
        engagement(admin_user, city_a, dt.date(2026, 1, 1), counterpart_cities=[elsewhere])
    assert last_activity(pact) is None
    assert_equals_a_full_recompute()


def test_imported_chunks_keep_every_agreement_equal_to_a_full_recompute(
    admin_user, city_a, city_b, foreign_city, django_capture_on_commit_callbacks
):
    rng = random.Random(3)
    counterparts = [foreign_city, *(factories.CityFactory(name=f"Partner {n}") for n in range(3))]
    agreements = []
    for home in (city_a, city_b):
        for counterpart in counterparts:
            agreement = factories.AgreementFactory(city=home)
            agreement.counterpart_cities.add(counterpart)
            agreements.append(agreement)
    for _ in range(4):
        items = []
        for _ in range(15):
            data = {
                "city": rng.choice([city_a, city_b]),
                "title": "Imported visit",
                "kind": "conference",
                "status": rng.choice(["planned", "completed", "cancelled"]),
                "start_date": dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(2500)),
                "visibility": "internal",
            }
            if rng.random() < 0.2:
                data["agreement"] = rng.choice([a for a in agreements if a.city == data["city"]])
            relations = {"counterpart_cities": rng.sample(counterparts, rng.randrange(3))}
            items.append(BulkItem(record=None, data=data, relations=relations))
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = save_in_bulk(Engagement, actor=admin_user, items=items)
        assert {outcome.result for outcome in outcomes} == {"created"}
        assert_equals_a_full_recompute()
    assert Agreement.objects.filter(last_activity_on__isnull=False).exists()
