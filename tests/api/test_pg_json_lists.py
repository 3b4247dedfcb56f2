"""On PostgreSQL the agreement and engagement list pages are written as JSON by the database
(engagements/api/pgjson.py). The serializer is the definition: for every role, filter, ordering,
page and `?expand=`, the page PostgreSQL writes must parse to exactly what the serializer path
answers (envelope, count and visibility included). And the topic and counterpart-country filters,
which read the trigger-kept arrays there, must keep exactly the records the joins keep."""

import datetime as dt
import itertools
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import ComplianceFlag, ComplianceRule
from engagements.api import pgjson
from engagements.api.serializers import AgreementSerializer, EngagementSerializer
from engagements.api.views import AgreementViewSet, EngagementViewSet
from engagements.filter_arrays import ARRAY_OF_RELATION
from engagements.models import Agreement, Engagement
from engagements.services import BulkItem, save_in_bulk
from engagements.write_path import write_path
from tests import factories
from utilities.api import ApiViewSet
from utilities.prepared import numbered

pytestmark = pytest.mark.postgres

PRINCIPALS = ["partner", "staff_a", "staff_b", "liaison", "admin"]
FILTERS = [
    {},
    {"topic": "climate"},
    {"topic": ["climate", "trade-investment"]},
    {"counterpart_country": "de"},
    {"counterpart_country": "JP", "topic": "trade-investment"},
    {"counterpart_country": "CH", "topic": "climate", "visibility": "public"},
    {"q": "pact"},
    {"page": 2, "page_size": 3},
    {"page": "last", "page_size": 4},
]
ORDERINGS = {
    "agreements": [None, "title", "-signed_on", "expires_on"],
    "engagements": [None, "title", "-start_date", "end_date"],
}
EVERY_RELATION = "city,counterpart_cities,counterpart_organizations,named_countries,counterpart_countries,topics"
EXPANDS = {
    "agreements": [None, "topics", EVERY_RELATION],
    "engagements": [None, "topics,location_city", f"{EVERY_RELATION},location_city"],
}


@pytest.fixture
def records(city_a, city_b, foreign_city):
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    for code in ("BR", "CH", "DE", "JP"):
        factories.country(code)
    aachen = factories.CityFactory(name="Aachen", country=factories.country("DE"), subdivision="", population=250_000)
    aachen.latitude, aachen.longitude = "50.775300", "-6.083900"
    aachen.save()
    organization = factories.OrganizationFactory(city=foreign_city, name="Chubu Economic Federation")
    other = factories.OrganizationFactory(city=None, country=None, name="Aachen Chamber")
    rule = ComplianceRule.objects.create(
        code="TX-1", jurisdiction="US-TX", name="Rule", deadline_on=dt.date(2027, 1, 1)
    )
    second_rule = ComplianceRule.objects.create(code="A-1", jurisdiction="US-TX", name="Another")
    agreements = []
    for index in range(7):
        agreement = factories.AgreementFactory(
            city=city_a if index % 3 else city_b,
            visibility=["public", "internal", "restricted"][index % 3],
            title=["Climate pact", "Sister cities", 'Trade "memo"\n\u00e9', "Pact two"][index % 4] + f" {index}",
            status=["active", "signed", "expired", "proposed"][index % 4],
            expires_on=dt.date(2020, 1, 1) if index % 2 else None,
            signed_on=None if index == 3 else dt.date(2019, 5, index + 1),
        )
        if index % 2:
            agreement.topics.set([trade, climate])
            agreement.counterpart_cities.set([aachen, foreign_city])
            agreement.counterpart_organizations.set([other, organization])
            agreement.named_countries.set(["CH"])
            agreement.counterpart_countries.set(["JP", "DE", "CH"])
            ComplianceFlag.objects.create(rule=rule, agreement=agreement)
        elif index % 3 == 0:
            agreement.topics.set([climate])
            agreement.counterpart_countries.set(["BR"])
        agreements.append(agreement)
    for index in range(12):
        engagement = factories.EngagementFactory(
            city=city_a if index % 4 else city_b,
            visibility=["public", "internal", "restricted", "public"][index % 4],
            agreement=[*agreements, None][index % 8],
            title=f"Visit {index} " + ("pact" if index % 5 == 0 else "tab\there"),
            location_city=[foreign_city, aachen, None][index % 3],
            start_date=dt.date(2026, 3, 1) + dt.timedelta(days=index % 4),
            end_date=None if index % 3 else dt.date(2026, 3, 9),
            external_id=None if index % 2 else f"ext-{index}",
            federal_coordination_requested=bool(index % 2),
        )
        if index % 2:
            engagement.topics.set([trade, climate] if index % 3 else [trade])
            engagement.counterpart_cities.set([aachen, foreign_city])
            engagement.counterpart_organizations.set([other, organization])
            engagement.named_countries.set(["CH", "BR"])
            engagement.counterpart_countries.set(["JP", "DE", "CH", "BR"] if index % 3 else ["JP"])
            engagement.participants.create(name="Kenji Sato", title="Vice mayor", side="counterpart")
            engagement.participants.create(name="Ana Ruiz", organization="Mayor's office", side="home")
            ComplianceFlag.objects.create(rule=second_rule, engagement=engagement)
            ComplianceFlag.objects.create(rule=rule, engagement=engagement)
        elif index % 4 == 0:
            engagement.topics.set([climate])
            engagement.counterpart_countries.set(["DE"])
    with write_path():
        # A timestamp without microseconds: ISO 8601 then has none either.
        Engagement.objects.filter(pk=engagement.pk).update(created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        Agreement.objects.filter(pk=agreements[0].pk).update(updated_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    return agreements


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class Spy:
    """Counts the pages PostgreSQL writes."""

    def __init__(self, monkeypatch):
        self.calls = 0
        for name in ("render_page", "render_first_page"):
            monkeypatch.setattr(pgjson, name, self.counting(getattr(pgjson, name)))

    def counting(self, real):
        def render(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        return render


def serializer_path(monkeypatch):
    """From now on the lists go through the serializer, as on SQLite."""
    monkeypatch.setattr(pgjson, "applies", lambda request, queryset: False)
    # The engagement list's plain-row path is itself held equal to the serializer elsewhere;
    # here the reference is the serializer itself.
    monkeypatch.setattr(EngagementViewSet, "serialized_list", ApiViewSet.list)
    monkeypatch.setattr(AgreementViewSet, "serialized_list", ApiViewSet.list)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("resource", ["agreements", "engagements"])
def test_the_database_writes_the_page_the_serializer_would(cast, records, principal, resource, monkeypatch):
    client = client_for(cast[principal])
    cases = []
    for filters, ordering, expand in itertools.product(FILTERS, ORDERINGS[resource], EXPANDS[resource]):
        params = {"page_size": 50, **filters}
        if ordering:
            params["ordering"] = ordering
        if expand:
            params["expand"] = expand
        cases.append(params)
    spy = Spy(monkeypatch)
    written = [client.get(f"/api/v1/{resource}/", params) for params in cases]
    pages = sum(response.status_code == 200 for response in written)
    assert spy.calls == pages, "every page should have been written by PostgreSQL"
    serializer_path(monkeypatch)
    expected = [client.get(f"/api/v1/{resource}/", params) for params in cases]
    assert spy.calls == pages
    non_empty = 0
    for params, mine, theirs in zip(cases, written, expected, strict=True):
        assert mine.status_code == theirs.status_code, (params, mine.content)
        assert theirs.status_code in (200, 404), (params, theirs.content)
        if theirs.status_code == 404:
            # A page past the end (fewer records for this caller): the same error either way.
            assert mine.json() == theirs.json()
            continue
        assert mine["Content-Type"] == theirs["Content-Type"]
        assert mine.json() == theirs.json(), params
        for row_mine, row_theirs in zip(mine.json()["results"], theirs.json()["results"], strict=True):
            assert list(row_mine) == list(row_theirs), "fields in the serializer's order"
        non_empty += bool(theirs.json()["results"])
    assert non_empty > len(cases) // 2, "too few cases compare any record"


def test_partners_get_no_people_and_no_hidden_agreement(cast, records):
    rows = client_for(cast["partner"]).get("/api/v1/engagements/", {"page_size": 500}).json()["results"]
    assert rows and all(row["visibility"] == "public" for row in rows)
    assert all(row["participants"] == [] for row in rows)
    hidden = {agreement.pk for agreement in records if agreement.visibility != "public"}
    assert not {row["agreement"] for row in rows} & hidden
    staff = client_for(cast["staff_a"]).get("/api/v1/engagements/", {"page_size": 500}).json()["results"]
    assert any(row["participants"] for row in staff)


def test_an_out_of_range_page_is_still_a_404(cast, records):
    response = client_for(cast["liaison"]).get("/api/v1/engagements/", {"page": 99})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def prepared_page_statements() -> dict[str, tuple[str, int]]:
    """The engagement page statements prepared on this connection: each one's text and how often it ran."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%json_agg(record ORDER BY page.n)%%' AND statement LIKE '%%engagements_engagement%%'"
        )
        return {name: (statement, runs) for name, statement, runs in cursor.fetchall()}


def test_the_page_statement_is_planned_once_per_connection_and_shape(cast, records):
    """The statement writing a page is prepared on the connection: for callers of one shape (here
    two staff members of different cities), every later or filtered page of every size runs the
    same one, and every unfiltered first page another, which reads the page's ids itself."""
    before = prepared_page_statements()
    pages = [
        ("staff_a", {}),
        ("staff_b", {"page_size": 50}),
        ("staff_a", {"page": 2, "page_size": 3}),
        ("staff_b", {"topic": "climate"}),
    ]
    bodies = [client_for(cast[who]).get("/api/v1/engagements/", params).json() for who, params in pages]
    assert all(body["results"] for body in bodies)
    ran = [
        ("page_ids" in statement, runs - before.get(name, ("", 0))[1])
        for name, (statement, runs) in prepared_page_statements().items()
        if runs != before.get(name, ("", 0))[1]
    ]
    assert sorted(ran) == [(False, 2), (True, 2)]


def statements(client, resource: str, params) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/{resource}/", params)
    assert response.status_code == 200
    return [query["sql"] for query in queries]


@pytest.mark.parametrize("principal", ["partner", "staff_a", "liaison"])
@pytest.mark.parametrize("resource", ["agreements", "engagements"])
def test_an_unfiltered_first_page_is_one_statement(cast, records, principal, resource):
    """The first page with no filter is counted, selected and written in one statement (one
    round trip); a later page, or a filtered one, is counted and selected first."""
    client = client_for(cast[principal])
    # The caller's home cities, read once.
    statements(client, resource, {"page_size": 1})
    (first,) = statements(client, resource, {"page_size": 2})
    assert "page_ids" in first
    assert len(statements(client, resource, {"page": 1, "expand": "topics"})) == 1
    assert len(statements(client, resource, {"page_size": 2, "page": 2})) == 3
    assert len(statements(client, resource, {"page_size": 2, "ordering": "title"})) == 3


def test_an_unfiltered_first_page_of_nothing_is_empty(cast, records):
    with write_path():
        Engagement.objects.exclude(visibility="restricted").update(visibility="restricted")
    body = client_for(cast["partner"]).get("/api/v1/engagements/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["O'Brien", "100% done", "%(page)s", "%s", "%%", "back\\slash", "Ünïcode ✓"])
def test_a_label_written_into_the_statement_reads_back_as_itself(text):
    statement, names = numbered(f"SELECT {pgjson._Builder.literal(text)}")
    assert names == ()
    with connection.cursor() as cursor:
        cursor.execute(statement)
        assert cursor.fetchone() == (text,)


def plan_nodes(plan: dict, under_subplan: bool = False):
    """Every node of `plan`, each with whether it runs as part of a subplan (once per outer row)."""
    under_subplan = under_subplan or plan.get("Parent Relationship") == "SubPlan"
    yield plan, under_subplan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child, under_subplan)


@pytest.mark.parametrize("serializer_class", [AgreementSerializer, EngagementSerializer])
def test_each_relation_is_read_once_for_the_whole_page(records, serializer_class):
    """Relations grouped for the page, not a subquery per record: a per-record subquery runs once
    per record, and PostgreSQL may plan it as a hash of a whole table rebuilt each time. Read
    from the plan (which nodes run as subplans), not from timings or loop counts."""
    model = serializer_class.Meta.model
    sql = pgjson._statement(serializer_class, (), True, "TRUE")
    page = list(model.objects.values_list("pk", flat=True))
    assert len(page) > 2
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", {"page": page, "today": timezone.localdate()})
        (plan,) = cursor.fetchone()[0]
    read = {}
    for node, under_subplan in plan_nodes(plan["Plan"]):
        if "Relation Name" in node:
            read[node["Relation Name"]] = read.get(node["Relation Name"], False) or under_subplan
    carried = {relation for relation, _ in ARRAY_OF_RELATION}
    tables = [
        field.remote_field.through._meta.db_table
        for field in model._meta.local_many_to_many
        if field.name not in carried
    ]
    tables.append(ComplianceFlag._meta.db_table)
    if model is Engagement:
        tables.append(model.participants.rel.related_model._meta.db_table)
    # Read by the statement, and never by a subplan run per record.
    assert {table: read.get(table) for table in tables} == dict.fromkeys(tables, False)
    # The keys each record carries in its arrays are not read from their relations at all.
    through = {getattr(model, relation).through._meta.db_table for relation in carried}
    assert not through & set(read)


def test_a_browsable_or_csv_request_is_not_written_by_the_database(cast, records, monkeypatch):
    spy = Spy(monkeypatch)
    client = client_for(cast["liaison"])
    assert client.get("/api/v1/agreements/", {"format": "csv"}).status_code == 200
    assert client.get("/api/v1/engagements/", HTTP_ACCEPT="text/html").status_code == 200
    assert spy.calls == 0


# --- the trigger-kept arrays --------------------------------------------------------------------


def arrays(model, pk):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT topic_slugs, counterpart_country_codes FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()


def expected_arrays(record):
    return (
        sorted(record.topics.values_list("slug", flat=True)),
        sorted(record.counterpart_countries.values_list("iso2", flat=True)),
    )


def updated_rows(model) -> int:
    """Rows of `model`'s table updated so far by this transaction (the test's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("model", [Agreement, Engagement])
def test_records_written_in_bulk_carry_their_arrays_from_the_start(cast, city_a, foreign_city, model):
    """An import writes each new record's arrays with it: the triggers then find them right and
    rewrite no record (a rewrite of every imported row cost a third of the import's time)."""
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    munich = factories.CityFactory(name="München", country=factories.country("DE"), subdivision="")
    base = {"city": city_a, "kind": "trade_mission", "status": "planned", "start_date": dt.date(2026, 9, 14)}
    if model is Agreement:
        base = {"city": city_a, "kind": "memorandum_of_understanding", "status": "proposed"}
    items = [
        BulkItem(
            None, {**base, "title": "Both"}, {"topics": [trade, climate], "counterpart_cities": [munich, foreign_city]}
        ),
        BulkItem(
            None,
            {**base, "title": "Named only"},
            {"named_countries": [factories.country("CH"), factories.country("BR")]},
        ),
        BulkItem(None, {**base, "title": "Nothing"}),
    ]
    before = updated_rows(model)
    outcomes = save_in_bulk(model, actor=cast["admin"], items=items)
    assert [outcome.result for outcome in outcomes] == ["created"] * 3
    created = model.objects.filter(title__in=["Both", "Named only", "Nothing"])
    for record in created:
        assert list(map(list, arrays(model, record.pk))) == list(expected_arrays(record)), record.title
    assert {record.title: list(arrays(model, record.pk)[0]) for record in created}["Both"] == [
        "climate",
        "trade-investment",
    ]
    assert updated_rows(model) == before


def test_the_arrays_follow_every_change_of_the_relations(records):
    records = [*records, *Engagement.objects.all()]
    for record in records:
        assert list(map(list, arrays(type(record), record.pk))) == list(expected_arrays(record))
    engagement = Engagement.objects.filter(topics__isnull=False).first()
    engagement.topics.clear()
    engagement.counterpart_countries.remove("JP")
    assert arrays(Engagement, engagement.pk) == ([], sorted(set(expected_arrays(engagement)[1])))
    engagement.topics.add(factories.topic("trade-investment"))
    assert arrays(Engagement, engagement.pk)[0] == ["trade-investment"]


def test_a_renamed_topic_is_renamed_in_every_array(records):
    from cities.models import Topic

    Topic.objects.filter(slug="climate").update(slug="climate-action")
    for record in [*records, *Engagement.objects.all()]:
        assert list(arrays(type(record), record.pk)[0]) == expected_arrays(record)[0]
    assert any("climate-action" in arrays(Agreement, record.pk)[0] for record in records)


def test_the_array_filters_keep_exactly_what_the_joins_keep(cast, records):
    """Counting by the arrays (the filters) against counting by the many-to-many rows."""
    client = client_for(cast["liaison"])
    for resource, model in (("agreements", Agreement), ("engagements", Engagement)):
        for topics, country in itertools.product(
            [None, ["climate"], ["climate", "trade-investment"]], [None, "DE", "JP"]
        ):
            expected = model.objects.all()
            params = {"page_size": 500}
            if topics:
                expected = expected.filter(topics__slug__in=topics)
                params["topic"] = topics
            if country:
                expected = expected.filter(counterpart_countries=country)
                params["counterpart_country"] = country
            rows = client.get(f"/api/v1/{resource}/", params).json()
            assert rows["count"] == expected.distinct().count(), (resource, params)
            assert {row["id"] for row in rows["results"]} == set(expected.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("relation", ["topics", "counterpart_countries"])
def test_two_writers_adding_to_one_records_relations_both_reach_its_array(city_a, relation):
    """The arrays stay exact under concurrent writers: the second writer's trigger waits on the
    record's row until the first commits, then reads both rows, never a stale snapshot."""
    engagement = factories.EngagementFactory(city=city_a)
    targets = (
        [factories.topic("climate"), factories.topic("trade-investment")]
        if relation == "topics"
        else [factories.country("DE"), factories.country("JP")]
    )
    first_added, errors = threading.Event(), []

    def add(target, before, after):
        try:
            with write_path(), transaction.atomic():
                before()
                getattr(Engagement.objects.get(pk=engagement.pk), relation).add(target)
                after()
        except Exception as error:  # noqa: BLE001 - reported below, whatever it is
            errors.append(error)
        finally:
            first_added.set()
            connection.close()

    def added_then_pause():
        first_added.set()
        # The other writer reaches its insert (and its trigger) while this transaction is open.
        time.sleep(0.5)

    writers = [
        threading.Thread(target=add, args=(targets[0], lambda: None, added_then_pause)),
        threading.Thread(target=add, args=(targets[1], first_added.wait, lambda: None)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)

    assert errors == []
    assert list(map(list, arrays(Engagement, engagement.pk))) == list(expected_arrays(engagement))
    index = 0 if relation == "topics" else 1
    assert len(arrays(Engagement, engagement.pk)[index]) == 2
