"""`field__any_of=values` keeps what `field__in=values` keeps, with the values as one array
parameter on PostgreSQL: at the top of a query, inside a subquery (whose aliases Django renames),
on a relation, for text keys and for none at all."""

import pytest
from django.db import connection

from cities.models import Country
from engagements.models import Engagement
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagements():
    return [factories.EngagementFactory() for _ in range(4)]


def ids(queryset) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


def test_it_keeps_what_in_keeps(engagements):
    wanted = [engagements[0].pk, engagements[2].pk, 10**15]
    assert ids(Engagement.objects.filter(pk__any_of=wanted)) == ids(Engagement.objects.filter(pk__in=wanted))
    assert ids(Engagement.objects.filter(pk__any_of=wanted)) == sorted(wanted[:2])


def test_inside_a_subquery_and_on_a_relation(engagements):
    chosen = Engagement.objects.filter(pk__any_of=[engagements[1].pk, engagements[3].pk]).values("city_id")
    cities = [engagements[1].city_id, engagements[3].city_id]
    assert ids(Engagement.objects.filter(city_id__in=chosen)) == ids(Engagement.objects.filter(city_id__in=cities))
    assert ids(Engagement.objects.exclude(pk__in=chosen.values("pk"))) == sorted([engagements[0].pk, engagements[2].pk])
    assert ids(Engagement.objects.filter(city__any_of=cities)) == ids(Engagement.objects.filter(city__in=cities))


def test_text_keys_and_no_values(engagements):
    for iso2, iso3, name in (("DE", "DEU", "Germany"), ("FR", "FRA", "France"), ("JP", "JPN", "Japan")):
        Country.objects.get_or_create(iso2=iso2, defaults={"iso3": iso3, "name": name})
    assert sorted(Country.objects.filter(iso2__any_of={"DE", "FR", "XX"}).values_list("iso2", flat=True)) == [
        "DE",
        "FR",
    ]
    assert list(Engagement.objects.filter(pk__any_of=[])) == []


def test_a_longer_value_is_not_cut_to_the_columns_length(engagements):
    Country.objects.get_or_create(iso2="DE", defaults={"iso3": "DEU", "name": "Germany"})
    # Cast to the column's varchar(2), "DEU" would become "DE".
    assert list(Country.objects.filter(iso2__any_of=["DEU"])) == []
    long_title = engagements[0].title + "x" * 400
    assert list(Engagement.objects.filter(title__any_of=[long_title])) == []


def test_none_and_subqueries_as_in_takes_them(engagements):
    first = engagements[0].pk
    assert ids(Engagement.objects.filter(pk__any_of=[first, None])) == [first]
    assert ids(Engagement.objects.exclude(pk__any_of=[first, None])) == ids(Engagement.objects.exclude(pk__in=[first]))
    chosen = Engagement.objects.filter(pk__in=[engagements[1].pk, engagements[2].pk]).values("pk")
    assert ids(Engagement.objects.filter(pk__any_of=chosen)) == sorted([engagements[1].pk, engagements[2].pk])


@pytest.mark.postgres
def test_thousands_of_values_are_one_parameter(engagements):
    wanted = [engagements[0].pk, *range(10**12, 10**12 + 5000)]
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert ids(Engagement.objects.filter(pk__any_of=wanted)) == [engagements[0].pk]
    ((sql, params),) = sent
    assert "= ANY(%s::bigint[])" in sql
    assert list(params) == ["{" + ",".join(map(str, wanted)) + "}"]


def test_text_that_an_array_literal_would_misread_matches_as_itself(engagements):
    titles = ['Say "hi", {all}', "back\\slash", "NULL", " spaced ", "Zürich, ✓", "comma,inside"]
    made = [factories.EngagementFactory(title=title) for title in titles]
    assert sorted(Engagement.objects.filter(title__any_of=titles).values_list("title", flat=True)) == sorted(titles)
    assert ids(Engagement.objects.filter(title__any_of=["NULL", "{all}"])) == [made[2].pk]
