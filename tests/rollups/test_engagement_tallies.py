"""The engagement tallies stay exact through every kind of write, and every number read from them
(stats, dashboards) equals a plain count of the rows the caller may see, for every role and the
filters the tallies answer."""

import datetime as dt
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from benchmarks.scale import delete_scale_records, seed_scale
from cities.models import Country
from dashboards.selectors import Dashboard
from engagements import services
from engagements.filters import EngagementFilterSet
from engagements.models import Engagement
from engagements.stats import GROUP_BY_CHOICES, count_engagements
from engagements.write_path import write_path
from rollups import counts, tallies
from rollups.counts import engagement_count
from rollups.models import CityEngagementTally, EngagementCount, EngagementPairTally, EngagementTally
from tests import factories

pytestmark = pytest.mark.postgres

VISIBILITIES = ["public", "internal", "restricted"]
KINDS = ["conference", "other", "trade_mission"]
REVIEW_STATUSES = ["unreviewed", "acknowledged", "flagged"]
COUNTRIES = ["DE", "CH", "JP", "CN", "MX", "NA"]
TOPICS = ["climate", "trade", "culture", "education"]
CHARTS = ("month", "topic", "kind", "country", "region", "state", "city")


def expected_city_tallies() -> dict:
    """(city, visibility, dimension, key) -> count, worked out in Python from the rows."""
    regions = dict(Country.objects.values_list("iso2", "region"))
    topics, countries = defaultdict(list), defaultdict(list)
    for engagement_id, topic_id in Engagement.topics.through.objects.values_list("engagement_id", "topic_id"):
        topics[engagement_id].append(str(topic_id))
    through = Engagement.counterpart_countries.through
    for engagement_id, iso2 in through.objects.values_list("engagement_id", "country_id"):
        countries[engagement_id].append(iso2)
    counts = Counter()
    for row in Engagement.objects.values("id", "city_id", "visibility", "start_date", "kind", "review_status"):
        day = row["start_date"]
        keys = [
            ("month", f"{day.year:04d}-{day.month:02d}"),
            ("year", f"{day.year:04d}"),
            ("kind", row["kind"]),
            ("review_status", row["review_status"]),
            *(("topic", topic) for topic in topics[row["id"]]),
            *(("country", iso2) for iso2 in countries[row["id"]]),
            *(("region", region) for region in {regions[iso2] for iso2 in countries[row["id"]]}),
        ]
        for dimension, key in keys:
            counts[(row["city_id"], row["visibility"], dimension, key)] += 1
    return dict(counts)


def assert_tallies_exact():
    expected = expected_city_tallies()
    stored = {
        (row.city_id, row.visibility, row.dimension, row.key): row.count
        for row in CityEngagementTally.objects.exclude(count=0)
    }
    assert stored == expected
    national = Counter()
    for (_, visibility, dimension, key), count in expected.items():
        national[(visibility, dimension, key)] += count
    stored = {(row.visibility, row.dimension, row.key): row.count for row in EngagementTally.objects.exclude(count=0)}
    assert stored == dict(national)
    assert_pairs_exact()


def expected_pairs() -> dict:
    """(city, visibility, topic slug, country) -> count, worked out in Python from the relations."""
    slugs, countries = defaultdict(set), defaultdict(set)
    for engagement_id, slug in Engagement.topics.through.objects.values_list("engagement_id", "topic__slug"):
        slugs[engagement_id].add(slug)
    through = Engagement.counterpart_countries.through
    for engagement_id, iso2 in through.objects.values_list("engagement_id", "country_id"):
        countries[engagement_id].add(iso2)
    counts = Counter()
    for pk, city_id, visibility in Engagement.objects.values_list("id", "city_id", "visibility"):
        for slug in slugs[pk]:
            for iso2 in countries[pk]:
                counts[(city_id, visibility, slug, iso2)] += 1
    return dict(counts)


def assert_pairs_exact():
    stored = {
        (row.city_id, row.visibility, row.topic, row.country): row.count
        for row in EngagementPairTally.objects.exclude(count=0)
    }
    assert stored == expected_pairs()


@pytest.fixture
def cities(city_a, city_b, foreign_city):
    return [city_a, city_b, factories.CityFactory(name="Seattle", subdivision="US-WA", population=750_000)]


@pytest.fixture
def world(db):
    for iso2 in COUNTRIES:
        factories.country(iso2)
    return {
        "countries": list(Country.objects.filter(iso2__in=COUNTRIES)),
        "topics": [factories.topic(slug) for slug in TOPICS],
    }


def random_data(rng, cities, world) -> dict:
    return {
        "city": rng.choice(cities),
        "title": "Visit",
        "kind": rng.choice(KINDS),
        "status": "planned",
        "start_date": dt.date(2024, 11, 1) + dt.timedelta(days=rng.randrange(800)),
        "visibility": rng.choice(VISIBILITIES),
        "topics": rng.sample(world["topics"], rng.randrange(3)),
        "named_countries": rng.sample(world["countries"], rng.randrange(4)),
    }


def test_tallies_stay_exact_through_random_service_writes(cities, world, admin_user, liaison):
    rng = random.Random(2026)
    records = []
    for _ in range(60):
        action = rng.choice(["create", "create", "change", "review", "delete"]) if records else "create"
        if action == "create":
            records.append(services.save_engagement(actor=admin_user, data=random_data(rng, cities, world)))
        elif action == "change":
            data = random_data(rng, cities, world)
            for name in rng.sample(sorted(data), rng.randrange(1, len(data))):
                data.pop(name)
            services.save_engagement(actor=admin_user, engagement=rng.choice(records), data=data)
        elif action == "review":
            services.add_review(reviewer=liaison, engagement=rng.choice(records), decision="flagged", comment="")
        else:
            services.delete_city_record(actor=admin_user, record=records.pop(rng.randrange(len(records))))
        assert_tallies_exact()
    assert sum(row.count for row in EngagementTally.objects.filter(dimension="kind")) == len(records) > 0


@write_path()  # the triggers must hold for writes that bypass the services too
def test_tallies_stay_exact_through_bulk_and_raw_writes(cities, world):
    topics = Engagement.topics.through
    countries = Engagement.counterpart_countries.through
    records = Engagement.objects.bulk_create(
        Engagement(
            city=cities[index % 3],
            title=f"Bulk {index}",
            kind=KINDS[index % 3],
            status="planned",
            start_date=dt.date(2025, 1 + index % 12, 1 + index % 28),
            visibility=VISIBILITIES[index % 3],
        )
        for index in range(40)
    )
    topics.objects.bulk_create(
        topics(engagement_id=record.pk, topic=world["topics"][index % 4]) for index, record in enumerate(records)
    )
    # Two counterparts in Europe: the region counts the engagement once.
    countries.objects.bulk_create(
        countries(engagement_id=record.pk, country_id=iso2)
        for index, record in enumerate(records)
        for iso2 in COUNTRIES[index % 3 : index % 3 + 2]
    )
    assert_tallies_exact()

    Engagement.objects.filter(city=cities[1]).update(visibility="restricted", start_date=dt.date(2026, 2, 3))
    Engagement.objects.filter(visibility="public").update(city=cities[2], kind="other")
    Engagement.objects.filter(title__endswith="7").update(review_status="acknowledged")
    countries.objects.filter(country_id="DE").delete()
    topics.objects.filter(engagement__kind="other").update(topic=world["topics"][3])
    assert_tallies_exact()

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # The engagement first, its relation rows after (Django deletes in the other order).
        first, second = records[0].pk, records[1].pk
        cursor.execute("DELETE FROM engagements_engagement WHERE id = %s", [first])
        cursor.execute("DELETE FROM engagements_engagement_topics WHERE engagement_id = %s", [first])
        cursor.execute("DELETE FROM engagements_engagement_counterpart_countries WHERE engagement_id = %s", [first])
        # Relation rows before the engagement they belong to.
        cursor.execute(
            "INSERT INTO engagements_engagement_counterpart_countries (engagement_id, country_id) VALUES (%s, 'CN')",
            [first],
        )
        cursor.execute(
            "INSERT INTO engagements_engagement (id, city_id, title, summary, visibility, is_demo, created_at, "
            "updated_at, version, kind, status, start_date, venue, outcomes, federal_coordination_requested, "
            "review_status) SELECT %s, city_id, title, summary, 'internal', is_demo, created_at, updated_at, "
            "version, kind, status, start_date, venue, outcomes, federal_coordination_requested, review_status "
            "FROM engagements_engagement WHERE id = %s",
            [first, second],
        )
        cursor.execute("UPDATE engagements_engagement SET city_id = %s WHERE id = %s", [cities[0].pk, second])
    assert_tallies_exact()

    Country.objects.filter(iso2="CH").update(region="Elsewhere")
    assert_tallies_exact()

    doomed = Engagement.objects.filter(city=cities[2])
    topics.objects.filter(engagement__in=doomed).delete()
    countries.objects.filter(engagement__in=doomed).delete()
    doomed._raw_delete(doomed.db)
    assert_tallies_exact()

    with connection.cursor() as cursor:
        # Foreign keys checked now: TRUNCATE waits for no pending check.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE engagements_engagement_topics")
    assert_tallies_exact()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE engagements_engagement CASCADE")
    assert_tallies_exact()
    assert not EngagementTally.objects.exclude(count=0).exists()


def test_tallies_include_rows_loaded_with_copy(cities):
    seed_scale(engagements=400, agreements=20, seed=5)
    assert_tallies_exact()
    assert sum(row.count for row in EngagementTally.objects.filter(dimension="month")) == 400

    delete_scale_records()
    assert_tallies_exact()
    assert not CityEngagementTally.objects.exclude(count=0).exists()


@pytest.fixture
def mixed(cities, world, admin_user, liaison):
    rng = random.Random(11)
    for _ in range(90):
        record = services.save_engagement(actor=admin_user, data=random_data(rng, cities, world))
        if rng.random() < 0.3:
            services.add_review(reviewer=liaison, engagement=record, decision=rng.choice(REVIEW_STATUSES[1:]))


@pytest.fixture
def roles(cast, cities):
    return {
        **cast,
        "staff_two_cities": factories.UserFactory(username="sam", role="staff", home_cities=[cities[0], cities[2]]),
        "liaison_west": _liaison_for("US-CA", "US-WA"),
    }


def _liaison_for(*states):
    user = factories.UserFactory(username="wes", role="liaison", portfolio_all=False)
    for state in states:
        user.portfolio_states.create(subdivision=state)
    return user


def counted_by_rows(monkeypatch, call):
    """`call()` with the tallies out of reach, as on a database without them."""
    with monkeypatch.context() as patch:
        patch.setattr(tallies, "available", lambda: False)
        return call()


# Filters the tallies answer for some or all dimensions, and some they never do.
QUERIES = [
    "",
    "city={a}",
    "state=US-IL",
    "state=us-wa",
    "visibility=restricted",
    "city={a}&visibility=public",
    "kind=conference",
    "kind=conference&kind=other",
    "review_status=unreviewed",
    "start_after=2025-03-01&start_before=2025-10-31",
    "start_after=2025-03-02",
    "topic=climate",
    "counterpart_country=DE",
    "q=visit",
]


@pytest.mark.parametrize(
    "who", ["anonymous", "partner", "staff_a", "staff_two_cities", "liaison", "liaison_west", "admin"]
)
def test_stats_from_tallies_equal_counting_rows_for_every_role_and_filter(monkeypatch, roles, who, mixed, city_a):
    user = roles[who]
    tallied = 0
    for query in QUERIES:
        params = QueryDict(query.format(a=city_a.pk))
        filterset = EngagementFilterSet(data=params, queryset=Engagement.objects.visible_to(user))
        assert filterset.is_valid(), filterset.errors
        for group_by in GROUP_BY_CHOICES:
            with CaptureQueriesContext(connection) as queries:
                answer = count_engagements(filterset.qs, group_by)
            expected = counted_by_rows(monkeypatch, lambda: count_engagements(filterset.qs, group_by))  # noqa: B023
            assert answer == expected, (query, group_by)
            if not any("engagements_engagement" in query["sql"] for query in queries):
                tallied += 1
                assert len(queries) <= 1
    # Unfiltered, by city, state or visibility every dimension comes from the tallies.
    assert tallied >= 6 * len(GROUP_BY_CHOICES)


@pytest.mark.parametrize("who", ["staff_a", "staff_two_cities", "liaison", "liaison_west", "admin"])
@pytest.mark.parametrize("query", ["", "state=US-CA", "city={a}", "visibility=internal", "kind=other", "topic=trade"])
def test_dashboard_from_tallies_equals_counting_rows(monkeypatch, roles, who, query, mixed, city_a):
    user = roles[who]
    params = QueryDict(query.format(a=city_a.pk))
    today = dt.date(2026, 5, 20)

    def numbers():
        board = Dashboard(user, params, today=today)
        return board.headline(), {chart: board.rows(chart) for chart in CHARTS}

    assert numbers() == counted_by_rows(monkeypatch, numbers)


def test_the_dashboard_reads_every_engagement_number_in_one_query(client, liaison, mixed):
    client.force_login(liaison)
    client.get("/dashboard/")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/dashboard/")

    assert response.status_code == 200
    engagement_reads = [query["sql"] for query in queries if "engagements_engagement" in query["sql"]]
    assert engagement_reads == []
    assert sum("rollups_" in query["sql"] for query in queries) == 1
    assert len(queries) <= 15


@pytest.mark.parametrize("who", ["anonymous", "partner", "staff_two_cities", "liaison_west", "admin"])
def test_list_totals_with_tallied_filters_equal_counting_rows(roles, who, mixed, city_a):
    user = roles[who]
    answered = {
        "kind=conference": True,
        "kind=conference&kind=other&state=US-CA": True,
        "review_status=flagged&visibility=internal": True,
        "start_after=2025-03-01&start_before=2025-10-31&city={a}": True,
        "start_after=2025-03-02": False,
        "kind=other&review_status=unreviewed": False,
        "topic=climate": False,
        "topic=climate&counterpart_country=de": True,
        "topic=climate&counterpart_country=JP&state=US-CA&visibility=internal": True,
        "topic=climate&topic=trade&counterpart_country=DE": False,
        "topic=climate&counterpart_country=DE&kind=other": False,
    }
    for query, tallied in answered.items():
        params = QueryDict(query.format(a=city_a.pk))
        filterset = EngagementFilterSet(data=params, queryset=Engagement.objects.visible_to(user))
        assert filterset.is_valid(), filterset.errors
        total = engagement_count(user, params)
        assert (total is not None) == tallied, query
        if tallied:
            assert total == filterset.qs.count(), query


def test_each_readers_total_is_their_own_and_read_afresh(roles, mixed, cities, world, admin_user):
    """The statement summing a rollup is built once per reader's filter and kept: two staff
    members of different cities each get their own total, and a new record counts at once."""
    readers = [roles["staff_a"], roles["staff_two_cities"], roles["liaison_west"], roles["partner"]]

    def totals():
        return [engagement_count(user, QueryDict("")) for user in readers]

    assert totals() == [Engagement.objects.visible_to(user).count() for user in readers]
    before = totals()
    data = {**random_data(random.Random(5), cities, world), "city": cities[2], "visibility": "restricted"}
    services.save_engagement(actor=admin_user, data=data)
    # Restricted in Seattle: seen by Seattle's staff member and by liaisons, not by staff of
    # another city nor by partners.
    assert totals() == [before[0], before[1] + 1, before[2] + 1, before[3]]


def test_a_total_no_row_can_reach_is_zero(mixed):
    assert counts._sum_of_counts(EngagementCount, Q(city_id__in=[]), {}) == 0
    assert counts._sum_of_counts(EngagementCount, Q(), {"visibility": "nonsense"}) == 0


@pytest.mark.parametrize("who", ["staff_two_cities", "liaison_west", "admin"])
def test_the_list_page_counts_a_topic_and_a_country_from_the_pair_tally(client, roles, who, mixed):
    """The engagement list page filtered on a topic and a counterpart country says how many match
    without counting engagement rows, and says what counting them would."""
    user = roles[who]
    client.force_login(user)
    for query in ("topic=climate&counterpart_country=DE", "topic=trade&counterpart_country=jp&visibility=internal"):
        params = QueryDict(query)
        expected = EngagementFilterSet(data=params, queryset=Engagement.objects.visible_to(user)).qs.count()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/engagements/", params)
        assert response.status_code == 200
        assert f"of these {expected} engagements" in response.content.decode(), query
        counts = [
            q["sql"]
            for q in queries
            if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "engagements_engagement"')
        ]
        assert counts == [], query


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_queue_instead_of_deadlocking(city_a, city_b):
    """Each writer adds to nationwide tallies the other needs next; the first one's transaction
    finishes, then the second's, and both are counted."""
    first_written = threading.Event()
    errors = []

    def write(city, kinds, before, after):
        try:
            with transaction.atomic():
                before()
                factories.EngagementFactory(city=city, kind=kinds[0])
                after()
                factories.EngagementFactory(city=city, kind=kinds[1])
        except Exception as error:  # noqa: BLE001 - reported below, whatever it is
            errors.append(error)
        finally:
            first_written.set()
            connection.close()

    def written_then_pause():
        first_written.set()
        # Let the other writer reach its first statement while this transaction is open.
        time.sleep(0.5)

    writers = [
        threading.Thread(target=write, args=(city_a, ("conference", "other"), lambda: None, written_then_pause)),
        threading.Thread(target=write, args=(city_b, ("other", "conference"), first_written.wait, lambda: None)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)

    assert errors == []
    assert_tallies_exact()
    assert EngagementTally.objects.get(visibility="internal", dimension="kind", key="other").count == 2


@pytest.mark.django_db(transaction=True)
def test_a_topics_new_slug_takes_the_writer_lock_and_moves_its_pairs(city_a, world):
    """A new slug rewrites arrays and pair tallies; it takes the writers' lock first, as they do.
    A new name alone changes nothing counted and takes none."""
    with write_path():
        engagement = factories.EngagementFactory(city=city_a)
        engagement.topics.set([world["topics"][0]])
        engagement.counterpart_countries.set(world["countries"][:1])

    def advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            return cursor.fetchone()[0]

    topic = world["topics"][0]
    with transaction.atomic():
        type(topic).objects.filter(pk=topic.pk).update(name="Renamed")
        assert advisory_locks() == 0
        type(topic).objects.filter(pk=topic.pk).update(slug="climate-action")
        assert advisory_locks() == 1
    assert_pairs_exact()
    assert EngagementPairTally.objects.filter(topic="climate-action", count=1).exists()


@pytest.mark.django_db(transaction=True)
def test_a_slug_renamed_during_an_import_queues_instead_of_deadlocking(city_a, world):
    """A writer holding the writers' lock goes on to change a record whose topic is being given
    a new slug: the rename waits for the lock before it locks any record, so neither waits on
    the other forever (PostgreSQL would abort one of them)."""
    climate, trade = world["topics"][0], world["topics"][1]
    with write_path():
        renamed = factories.EngagementFactory(city=city_a)
        renamed.topics.set([climate])
        other = factories.EngagementFactory(city=city_a)
    locked, errors = threading.Event(), []

    def run(work):
        try:
            with write_path(), transaction.atomic():
                work()
        except Exception as error:  # noqa: BLE001 - reported below, whatever it is
            errors.append(error)
        finally:
            locked.set()
            connection.close()

    def importer():
        Engagement.objects.get(pk=other.pk).topics.add(trade)  # takes the writers' lock
        locked.set()
        time.sleep(0.5)  # the rename starts meanwhile
        Engagement.objects.get(pk=renamed.pk).topics.add(trade)  # needs the renamed record's row

    def rename():
        locked.wait()
        type(climate).objects.filter(pk=climate.pk).update(slug="climate-action")

    writers = [threading.Thread(target=run, args=(importer,)), threading.Thread(target=run, args=(rename,))]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)

    assert errors == []
    assert sorted(arrays_of(renamed)) == ["climate-action", "trade"]
    assert_pairs_exact()


def arrays_of(engagement) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT topic_slugs FROM engagements_engagement WHERE id = %s", [engagement.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@write_path()  # the triggers must hold for writes that bypass the services too
def test_an_edit_of_uncounted_columns_takes_no_writer_lock(city_a):
    engagement = factories.EngagementFactory(city=city_a)

    def advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            return cursor.fetchone()[0]

    with transaction.atomic():
        Engagement.objects.filter(pk=engagement.pk).update(title="Renamed", summary="Longer")
        assert advisory_locks() == 0
        Engagement.objects.filter(pk=engagement.pk).update(kind="other")
        assert advisory_locks() == 1
