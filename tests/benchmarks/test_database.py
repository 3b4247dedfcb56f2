"""The benchmark's scratch copies: writes made on one never reach the database it copies."""

import uuid
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from benchmarks import database

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(monkeypatch):
    settings = connection.settings_dict
    credentials = quote(settings["USER"]) + (f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else "")
    address = f"postgres://{credentials}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    monkeypatch.setattr(database, "SERVER", address)
    return address


def test_a_scratch_copy_starts_as_its_source_and_is_dropped_with_what_was_written(server):
    source = f"dip_test_source_{uuid.uuid4().hex[:8]}"
    database._execute(f"CREATE DATABASE {source}")
    try:
        with psycopg.connect(database.url(source), autocommit=True) as source_connection:
            source_connection.execute("CREATE TABLE rows (n int)")
            source_connection.execute("INSERT INTO rows VALUES (1)")
        with (
            database.scratch_copy(database.url(source)) as scratch,
            psycopg.connect(scratch, autocommit=True) as copy,
        ):
            assert copy.execute("SELECT n FROM rows").fetchall() == [(1,)]
            copy.execute("INSERT INTO rows VALUES (2)")
        assert database._comment(scratch.rsplit("/", 1)[1]) is None
        with psycopg.connect(database.url(source)) as source_connection:
            assert source_connection.execute("SELECT n FROM rows").fetchall() == [(1,)]
    finally:
        database._execute(f"DROP DATABASE IF EXISTS {source} WITH (FORCE)")
