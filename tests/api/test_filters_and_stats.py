"""The shared FilterSets and engagement counts: what the HTML lists, the API, CSV export and the
dashboards all filter and count with."""

import datetime as dt

import pytest

from cities.filters import CityFilterSet, MembershipFilterSet
from cities.models import City, NetworkMembership
from engagements.filters import AgreementFilterSet, EngagementFilterSet
from engagements.models import Agreement, Engagement
from engagements.stats import count_engagements
from tests import factories


def ids(filterset):
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("id", flat=True))


@pytest.fixture
def engagements(city_a, city_b, foreign_city):
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="")
    both_topics = factories.EngagementFactory(city=city_a, title="Port climate summit", start_date=dt.date(2026, 1, 5))
    both_topics.topics.set([climate, trade])
    both_topics.counterpart_cities.set([foreign_city, berlin])
    both_topics.counterpart_countries.set(["JP", "DE"])
    chicago = factories.EngagementFactory(
        city=city_b,
        title="Trade mission",
        summary="Meeting about São Paulo ports",
        kind="trade_mission",
        start_date=dt.date(2026, 2, 1),
        federal_coordination_requested=True,
    )
    chicago.topics.set([trade])
    chicago.counterpart_countries.set(["JP"])
    untagged = factories.EngagementFactory(city=city_a, title="Zoom call", start_date=dt.date(2026, 2, 20))
    return {"both_topics": both_topics, "chicago": chicago, "untagged": untagged}


def test_m2m_filters_return_each_record_once(engagements):
    data = {"topic": ["climate", "trade-investment"]}
    rows = EngagementFilterSet(data, queryset=Engagement.objects.all())
    assert ids(rows) == sorted([engagements["both_topics"].pk, engagements["chicago"].pk])
    assert rows.qs.count() == 2


def test_counterpart_country_and_city_filters(engagements, foreign_city):
    by_country = EngagementFilterSet({"counterpart_country": "de"}, queryset=Engagement.objects.all())
    assert ids(by_country) == [engagements["both_topics"].pk]
    by_city = EngagementFilterSet({"counterpart_city": foreign_city.pk}, queryset=Engagement.objects.all())
    assert ids(by_city) == [engagements["both_topics"].pk]


def test_state_q_dates_and_flags_combine(engagements):
    data = {"state": "us-il", "q": "são paulo", "start_after": "2026-02-01", "federal_coordination_requested": "true"}
    assert ids(EngagementFilterSet(data, queryset=Engagement.objects.all())) == [engagements["chicago"].pk]
    data = {"state": "US-CA", "start_before": "2026-01-31"}
    assert ids(EngagementFilterSet(data, queryset=Engagement.objects.all())) == [engagements["both_topics"].pk]


@pytest.mark.parametrize(
    "data",
    [
        {"federal_coordination_requested": "maybe"},
        {"start_after": "yesterday"},
        {"city": "abc"},
        {"kind": "picnic"},
        {"topic": "no-such-topic"},
        {"state": "California"},
        {"ordering": "password"},
    ],
)
def test_malformed_values_are_errors_not_ignored(engagements, data):
    assert not EngagementFilterSet(data, queryset=Engagement.objects.all()).is_valid()


def test_ordering_by_title_descending(engagements):
    rows = EngagementFilterSet({"ordering": "-title"}, queryset=Engagement.objects.all())
    assert rows.is_valid()
    assert [e.title for e in rows.qs] == ["Zoom call", "Trade mission", "Port climate summit"]


def test_agreement_date_ranges(city_a):
    old = factories.AgreementFactory(city=city_a, signed_on=dt.date(1990, 1, 1), expires_on=dt.date(2000, 1, 1))
    new = factories.AgreementFactory(city=city_a, signed_on=dt.date(2024, 1, 1), expires_on=dt.date(2030, 1, 1))
    assert ids(AgreementFilterSet({"signed_after": "2000-01-01"}, queryset=Agreement.objects.all())) == [new.pk]
    assert ids(AgreementFilterSet({"expires_before": "2001-01-01"}, queryset=Agreement.objects.all())) == [old.pk]


def test_city_search_matches_any_word_start_ranked_by_population(db):
    small = factories.CityFactory(name="Springfield", subdivision="US-MO", population=170_000)
    large = factories.CityFactory(name="Springfield", subdivision="US-MA", population=155_000 * 10)
    west = factories.CityFactory(name="West Springfield", population=28_000)
    factories.CityFactory(name="Everspring", population=9_000_000)
    rows = CityFilterSet({"q": "spring"}, queryset=City.objects.all())
    assert rows.is_valid()
    assert [city.pk for city in rows.qs] == [large.pk, small.pk, west.pk]


def test_city_network_and_office_filters(city_a, city_b):
    c40 = factories.NetworkFactory(slug="c40")
    factories.MembershipFactory(network=c40, city=city_a)
    factories.MembershipFactory(network=c40, city=city_b, joined_on=dt.date(2010, 1, 1), left_on=dt.date(2015, 1, 1))
    factories.OfficeFactory(city=city_b)
    assert ids(CityFilterSet({"network": "c40"}, queryset=City.objects.all())) == [city_a.pk]
    assert ids(CityFilterSet({"has_office": "true"}, queryset=City.objects.all())) == [city_b.pk]
    active = MembershipFilterSet({"network": "c40", "active": "false"}, queryset=NetworkMembership.objects.all())
    assert [m.city_id for m in active.qs] == [city_b.pk]


def test_count_by_topic_counts_each_engagement_under_each_topic(engagements):
    counts = count_engagements(Engagement.objects.all(), "topic")
    assert [(row["key"], row["count"]) for row in counts] == [("trade-investment", 2), ("climate", 1)]


def test_count_by_month_and_state(engagements):
    assert [(r["key"], r["count"]) for r in count_engagements(Engagement.objects.all(), "month")] == [
        ("2026-01", 1),
        ("2026-02", 2),
    ]
    assert [(r["key"], r["count"]) for r in count_engagements(Engagement.objects.all(), "state")] == [
        ("US-CA", 2),
        ("US-IL", 1),
    ]


def test_count_follows_the_filtered_queryset(engagements):
    rows = EngagementFilterSet({"counterpart_country": "JP"}, queryset=Engagement.objects.all())
    assert rows.is_valid()
    assert count_engagements(rows.qs, "country") == [
        {"key": "JP", "label": "Japan", "count": 2},
        {"key": "DE", "label": "Germany", "count": 1},
    ]


def test_unknown_dimension_is_refused(db):
    with pytest.raises(ValueError, match="group_by"):
        count_engagements(Engagement.objects.all(), "weather")
