"""`?format=csv` on the engagement API streams the list's plain rows (engagements/api/listing.py
`export_rows`) a chunk at a time: the file must be line for line what the serializer gives, however
many chunks it takes, with every cell a spreadsheet would run neutralised.

This is the Python path (SQLite's, and the fallback); on PostgreSQL the database writes the file
itself (tests/api/test_copy_exports.py), so these tests turn that off."""

import csv
import io
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from engagements.api import listing
from engagements.api.views import EngagementViewSet
from tests import factories
from utilities import csv as csv_files
from utilities.api import ApiViewSet

from .test_engagement_listing import records  # noqa: F401 - the fixture

LIST = "/api/v1/engagements/"


@pytest.fixture(autouse=True)
def python_path(monkeypatch):
    monkeypatch.setattr(csv_files, "copy_supported", lambda alias: False)


def export(user, params=None) -> str:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(LIST, {"format": "csv", **(params or {})})
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.fixture
def formulas(city_a):
    return [
        factories.EngagementFactory(city=city_a, visibility="public", title='=HYPERLINK("http://x")', summary="+1+1"),
        factories.EngagementFactory(city=city_a, visibility="public", title="@SUM(A1)", venue="-2+3", outcomes="\tx"),
    ]


@pytest.mark.parametrize("principal", ["partner", "staff_a", "liaison", "admin"])
def test_a_many_chunk_export_is_line_for_line_the_serializers(cast, records, formulas, principal, monkeypatch):  # noqa: F811
    user = cast[principal]
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
    chunked = export(user)
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 10_000)
    whole = export(user)
    # The path every other resource takes: the serializer on each record, prefetched.
    monkeypatch.setattr(EngagementViewSet, "csv_rows", ApiViewSet.csv_rows)
    serialized = export(user)
    lines = chunked.splitlines()
    assert len(lines) - 1 > 2 * 2, "the export should span several chunks"
    assert lines == whole.splitlines() == serialized.splitlines()
    rows = list(csv.DictReader(io.StringIO(chunked.lstrip("\ufeff"))))
    by_title = {row["title"]: row for row in rows}
    assert '\'=HYPERLINK("http://x")' in by_title
    assert by_title['\'=HYPERLINK("http://x")']["summary"] == "'+1+1"
    assert by_title["'@SUM(A1)"]["venue"] == "'-2+3"
    assert by_title["'@SUM(A1)"]["outcomes"] == "'\tx"
    assert not any(value.startswith(("=", "+", "@", "\t")) for row in rows for value in row.values())


def test_an_export_reads_relations_once_per_chunk_not_per_row(cast, records, monkeypatch):  # noqa: F811
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 3)
    with CaptureQueriesContext(connection) as queries:
        text = export(cast["liaison"])
    rows = len(text.splitlines()) - 1
    chunks = -(-rows // 3)
    per_chunk = 1 if connection.vendor == "postgresql" else 6
    # Savepoints of the export's transaction, the rows' query and each chunk's relations.
    reads = [query for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(reads) <= 4 + chunks * per_chunk


def test_filters_narrow_the_export_as_they_narrow_the_list(cast, records):  # noqa: F811
    client = APIClient()
    client.force_authenticate(cast["liaison"])
    listed = [row["id"] for row in client.get(LIST, {"topic": "climate", "page_size": 500}).json()["results"]]
    exported = [
        int(row["id"])
        for row in csv.DictReader(io.StringIO(export(cast["liaison"], {"topic": "climate"}).lstrip("\ufeff")))
    ]
    assert exported == listed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_as_served_the_next_chunks_relations_are_read_alongside_and_the_lines_are_the_same(
    cast,
    records,  # noqa: F811
    formulas,
    monkeypatch,
):
    """Outside a transaction (as a request is served) the relations of the next chunk are read
    on a second connection while a chunk is written: the same lines still."""
    if connection.vendor != "postgresql":
        pytest.skip("the overlapped reads are PostgreSQL's")
    reads = []
    real = listing._read_related
    monkeypatch.setattr(
        listing, "_read_related", lambda *args: reads.append(threading.current_thread().name) or real(*args)
    )
    monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
    overlapped = export(cast["liaison"])
    assert reads and all(name.startswith("export-relations") for name in reads), reads
    monkeypatch.setattr(EngagementViewSet, "csv_rows", ApiViewSet.csv_rows)
    assert overlapped.splitlines() == export(cast["liaison"]).splitlines()


@pytest.mark.parametrize("principal", ["staff_a", "liaison", "admin"])
def test_the_list_pages_csv_from_plain_rows_is_what_the_records_gave(cast, records, formulas, principal, monkeypatch):  # noqa: F811
    """The engagement list page's CSV (`/engagements/?format=csv`) reads plain rows in chunks;
    line for line what its row-per-record path gave."""
    from django.test import Client

    from engagements import views

    client = Client()
    client.force_login(cast[principal])

    def page_csv() -> list[str]:
        response = client.get("/engagements/", {"format": "csv"})
        assert response.status_code == 200
        return b"".join(response.streaming_content).decode("utf-8").splitlines()

    monkeypatch.setattr(views, "_CSV_CHUNK", 2)
    chunked = page_csv()
    monkeypatch.setattr(views, "_engagement_csv_rows", None)
    assert chunked == page_csv()
    assert len(chunked) > 5
    assert any(line.startswith(f"{formulas[0].pk},\"'=HYPERLINK") for line in chunked), chunked
