"""Statements every request runs are prepared on the connection: planned once, then only run,
with their rows, query log and errors as any other statement's."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from utilities.prepared import fetch_prepared, numbered


def test_django_placeholders_become_numbered_ones():
    assert numbered("SELECT %s, %s WHERE a LIKE '50%%'") == ("SELECT $1, $2 WHERE a LIKE '50%'", (0, 1))
    # A name is one parameter wherever it appears.
    assert numbered("SELECT %(a)s, %(b)s, %(a)s") == ("SELECT $1, $2, $1", ("a", "b"))


def prepared_runs(fragment: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_is_prepared_once_and_run_with_each_runs_values():
    # A statement of its own: the test connection persists, and may have prepared another.
    probe = f"prepared_sum_{uuid.uuid4().hex}"
    sql = f"SELECT %s::int + %s::int AS {probe}"
    assert fetch_prepared(connection, sql, [1, 2]) == [(3,)]
    assert fetch_prepared(connection, sql, [40, 2]) == [(42,)]
    # One statement on the server, run twice.
    assert prepared_runs(probe) == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_named_parameters_and_no_rows():
    sql = "SELECT n FROM generate_series(1, %(last)s::int) AS n WHERE n > %(after)s::int AND n <= %(last)s::int"
    assert fetch_prepared(connection, sql, {"last": 3, "after": 1}) == [(2,), (3,)]
    assert fetch_prepared(connection, sql, {"last": 3, "after": 5}) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_query_log_shows_the_statement():
    with CaptureQueriesContext(connection) as queries:
        fetch_prepared(connection, "SELECT %s::text AS logged_probe", ["O'Brien"])
    (query,) = queries.captured_queries
    assert query["sql"] == "SELECT $1::text AS logged_probe"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_database_error_is_djangos_own():
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic():
        fetch_prepared(connection, "SELECT 1 / %s::int", [0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_that_died_is_replaced_by_the_health_check():
    fetch_prepared(connection, "SELECT 1", [])
    connection.connection.close()
    # A new request: Django checks a persistent connection once before its first statement.
    enabled = connection.health_check_enabled
    connection.health_check_enabled, connection.health_check_done = True, False
    try:
        assert fetch_prepared(connection, "SELECT %s::int", [7]) == [(7,)]
    finally:
        connection.health_check_enabled = enabled


@pytest.mark.postgres
@pytest.mark.django_db
@given(
    st.lists(
        st.one_of(st.integers(-(2**62), 2**62), st.text(alphabet=st.characters(exclude_characters="\x00"))), max_size=4
    )
)
def test_values_come_back_as_they_went(values):
    sql = "SELECT " + ", ".join("%s" for _ in values) if values else "SELECT 1"
    expected = [tuple(values)] if values else [(1,)]
    assert fetch_prepared(connection, sql, values) == expected
