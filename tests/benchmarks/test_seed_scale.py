"""`seed_scale`: synthetic load data that is reproducible, consistent with the model's rules and
loaded the fast way on PostgreSQL."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from benchmarks.scale import delete_scale_records, scale_records, seed_scale
from engagements import services
from engagements.models import Agreement, Engagement
from tests import factories


@pytest.fixture
def world(db):
    """A handful of US home cities and foreign counterparts in four countries."""
    for number, population in enumerate([8_000_000, 3_900_000, 2_700_000, 700_000, 90_000]):
        factories.CityFactory(name=f"Home {number}", population=population)
    for code in ["MX", "JP", "DE", "CN"]:
        for number, population in enumerate([9_000_000, 1_500_000, 300_000]):
            factories.CityFactory(
                name=f"Partner {code} {number}", country=factories.country(code), subdivision="", population=population
            )


def snapshot():
    """Everything generated, without database ids, in a stable order."""
    agreements, engagements = scale_records()
    external_id_of = dict(Agreement.objects.values_list("pk", "external_id"))
    rows = []
    for model, records in ((Agreement, agreements), (Engagement, engagements)):
        for record in records.order_by("external_id").prefetch_related(
            "topics", "counterpart_cities", "counterpart_countries"
        ):
            rows.append(
                (
                    model.__name__,
                    record.external_id,
                    record.city.name,
                    record.title,
                    record.kind,
                    record.status,
                    record.visibility,
                    str(getattr(record, "start_date", None) or record.signed_on),
                    external_id_of.get(getattr(record, "agreement_id", None)),
                    sorted(topic.slug for topic in record.topics.all()),
                    sorted(city.name for city in record.counterpart_cities.all()),
                    sorted(country.iso2 for country in record.counterpart_countries.all()),
                )
            )
    return rows


def test_writes_the_requested_numbers_of_demo_records(world):
    report = seed_scale(engagements=300, agreements=40, seed=7)

    agreements, engagements = scale_records()
    assert (engagements.count(), agreements.count()) == (300, 40)
    assert Engagement.objects.filter(is_demo=False).count() == 0
    relation_rows = 0
    for model, records in ((Engagement, engagements), (Agreement, agreements)):
        for name in ("topics", "counterpart_cities", "counterpart_countries"):
            through = model._meta.get_field(name).remote_field.through
            relation_rows += through.objects.filter(**{f"{model._meta.model_name}__in": records}).count()
    assert report.relation_rows == relation_rows > 340


def test_the_same_seed_gives_the_same_records_and_another_seed_others(world):
    seed_scale(engagements=200, agreements=30, seed=7)
    first = snapshot()
    delete_scale_records()
    seed_scale(engagements=200, agreements=30, seed=7)
    again = snapshot()
    delete_scale_records()
    seed_scale(engagements=200, agreements=30, seed=8)

    assert again == first
    assert snapshot() != first


def test_records_are_skewed_towards_the_largest_cities(world):
    seed_scale(engagements=2000, agreements=0, seed=3)

    _, engagements = scale_records()
    largest, smallest = (engagements.filter(city__name=name).count() for name in ("Home 0", "Home 4"))
    assert largest > 3 * smallest > 0


def test_counterpart_countries_are_the_countries_of_the_counterpart_cities(world):
    seed_scale(engagements=400, agreements=60, seed=11)

    for records in scale_records():
        for record in records.prefetch_related("counterpart_cities", "counterpart_countries"):
            cities = record.counterpart_cities.all()
            assert {country.iso2 for country in record.counterpart_countries.all()} == {c.country_id for c in cities}
            assert record.city_id not in {city.pk for city in cities}


def test_every_record_has_topics_and_engagements_belong_to_agreements_of_their_own_city(world):
    seed_scale(engagements=2000, agreements=200, seed=5)

    agreements, engagements = scale_records()
    assert not agreements.filter(topics=None).exists()
    assert not engagements.filter(topics=None).exists()
    linked = engagements.exclude(agreement=None).select_related("agreement")
    assert linked.exists()
    assert all(engagement.agreement.city_id == engagement.city_id for engagement in linked)
    assert not engagements.filter(end_date__lt=F("start_date")).exists()


@pytest.mark.postgres
def test_copy_and_bulk_create_load_the_same_records(world):
    seed_scale(engagements=300, agreements=40, seed=9, use_copy=True)
    copied = snapshot()
    delete_scale_records()
    seed_scale(engagements=300, agreements=40, seed=9, use_copy=False)

    assert snapshot() == copied


@pytest.mark.postgres
def test_records_created_after_a_copy_get_fresh_ids(world, staff_a, city_a):
    seed_scale(engagements=50, agreements=5, seed=1)
    last = Engagement.objects.order_by("-pk").values_list("pk", flat=True).first()

    created = services.save_engagement(
        actor=staff_a,
        data={
            "city": city_a,
            "title": "After the load",
            "kind": "conference",
            "status": "planned",
            "start_date": "2026-05-01",
        },
    )

    assert created.pk > last
    assert connection.vendor == "postgresql"


def test_the_command_refuses_to_add_a_second_run_unless_told_to_replace_it(world, capsys):
    call_command("seed_scale", "--engagements", "100", "--agreements", "10", "--seed", "2")

    with pytest.raises(CommandError, match="--replace"):
        call_command("seed_scale", "--engagements", "100", "--seed", "2")
    call_command("seed_scale", "--engagements", "120", "--seed", "2", "--replace")

    agreements, engagements = scale_records()
    assert (engagements.count(), agreements.count()) == (120, 12)
    assert "120 engagements, 12 agreements" in capsys.readouterr().out


def test_the_command_explains_missing_reference_data(db):
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_scale", "--engagements", "10")


@pytest.mark.postgres
def test_the_command_leaves_the_planner_statistics_fresh(world):
    call_command("seed_scale", "--engagements", "300", "--agreements", "30", "--seed", "3")

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Engagement._meta.db_table])
        assert cursor.fetchone()[0] >= 300
