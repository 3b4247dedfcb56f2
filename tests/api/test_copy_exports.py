"""Exports PostgreSQL writes itself (`COPY (SELECT ...) TO STDOUT`, `utilities.csv.copy_csv_response`):
the API's `?format=csv` of agreements and engagements and the list pages' CSV downloads.

Each file must hold exactly the rows and cells the Python path writes (the serializer's values,
or the page's rows, through `utilities.csv.cell`) for every reader and filter, hostile cells,
unicode, empty values and many-valued relations included; and the SQL formula guard must be the
Python one, which a generated test checks over arbitrary text.
"""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from compliance.models import ComplianceFlag, ComplianceRule
from engagements.models import Agreement, Engagement
from engagements.write_path import write_path
from tests import factories
from utilities import csv as csv_files
from utilities.csv import FORMULA_PREFIXES, GUARD_SQL, PLAIN_NUMBER, guard

pytestmark = pytest.mark.postgres

HOSTILE = [
    '=HYPERLINK("http://x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "-12.5",
    "+3",
    "-3.",
    "-١٢",
    "-12\n",
    "'=already",
    "",
    " =spaced",
    'He said "hi", then left',
    "line one\nline two\r\nline three",
    "\\.",
    "São Paulo · 北京 · Ñandú 🙂",
    "; semi; colons;",
    "trailing space ",
    "50% _off, 100%% sure",
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite keeps the Python path")


def sql_guard(text: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + GUARD_SQL.format(cell="(%s::text)"), [text] * GUARD_SQL.count("{cell}"))
        return cursor.fetchone()[0]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_sql_guard_gives_what_the_python_guard_gives(db, text):
    # NULL is the empty cell: COPY writes it as nothing, as csv.writer writes "".
    assert sql_guard(text) == (guard(text) or None)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(
        alphabet=st.one_of(
            st.sampled_from("=+-@\t\r\n.0123456789'\" ;,٣١"),
            st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        ),
        max_size=12,
    )
)
def test_the_sql_guard_is_the_python_guard_for_any_text(db, text):
    assert sql_guard(text) == (guard(text) or None)


# --- A world with hostile cells -------------------------------------------------------------


@pytest.fixture
def hostile(city_a, city_b, foreign_city):
    """Agreements and engagements of both cities in every visibility, with hostile text in every
    text field, empty and missing values, many-valued relations, people and compliance flags."""
    climate, trade = factories.topic("climate"), factories.topic("trade-investment")
    for code in ("BR", "CH", "DE", "JP"):
        factories.country(code)
    aachen = factories.CityFactory(name="=Aachen", country=factories.country("DE"), subdivision="", population=250_000)
    twin = factories.CityFactory(name="Twin", country=factories.country("JP"), subdivision="", population=250_000)
    formula_org = factories.OrganizationFactory(city=foreign_city, name="=cmd|' /C calc'!A0")
    plain_org = factories.OrganizationFactory(city=aachen, name="Aachen; Chamber, e.V.")
    rule = ComplianceRule.objects.create(
        code="-TX-1", jurisdiction="US-TX", name="Rule", deadline_on=dt.date(2027, 1, 1)
    )
    second_rule = ComplianceRule.objects.create(code="A-1", jurisdiction="US-TX", name="Another")
    agreements = []
    for index, text in enumerate(HOSTILE[:8]):
        agreement = factories.AgreementFactory(
            city=city_a if index % 3 else city_b,
            visibility=["public", "internal", "restricted"][index % 3],
            title=text or "untitled",
            summary=HOSTILE[-1 - index],
            status=["active", "signed", "expired", "draft"][index % 4],
            expires_on=dt.date(2020, 1, 1) if index % 2 else None,
            signed_on=None if index == 3 else dt.date(2019, 5, index + 1),
            authorized_by=HOSTILE[index + 3],
            url="https://example.org/=x" if index % 2 else "",
        )
        if index % 2:
            agreement.topics.set([trade, climate])
            agreement.counterpart_cities.set([aachen, twin, foreign_city])
            agreement.counterpart_organizations.set([formula_org, plain_org])
            agreement.counterpart_countries.set(["JP", "DE"])
            ComplianceFlag.objects.create(rule=rule, agreement=agreement)
        agreements.append(agreement)
    engagements = []
    for index, text in enumerate(HOSTILE):
        engagement = factories.EngagementFactory(
            city=city_a if index % 4 else city_b,
            visibility=["public", "internal", "restricted"][index % 3],
            agreement=[*agreements, None][index % 9],
            title=text or "untitled",
            summary=HOSTILE[-1 - index],
            outcomes=HOSTILE[(index + 5) % len(HOSTILE)],
            venue=HOSTILE[(index + 7) % len(HOSTILE)],
            external_id=None if index % 2 else HOSTILE[(index + 2) % len(HOSTILE)] or None,
            location_city=[foreign_city, aachen, None][index % 3],
            start_date=dt.date(2026, 3, 1) + dt.timedelta(days=index % 4),
            end_date=None if index % 3 else dt.date(2026, 3, 9),
            federal_coordination_requested=bool(index % 2),
        )
        if index % 2:
            engagement.topics.set([trade, climate])
            engagement.counterpart_cities.set([twin, aachen, foreign_city])
            engagement.counterpart_organizations.set([plain_org, formula_org])
            engagement.named_countries.set(["CH", "BR"])
            engagement.counterpart_countries.set(["JP", "DE", "CH", "BR"])
            engagement.participants.create(name="=Kenji Sato", title="Vice mayor", side="counterpart")
            engagement.participants.create(name="", title="-Untitled guest", side="home")
            engagement.participants.create(name="Ana Ruiz", organization="Mayor's office", side="home")
            ComplianceFlag.objects.create(rule=second_rule, engagement=engagement)
            ComplianceFlag.objects.create(rule=rule, engagement=engagement)
        engagements.append(engagement)
    with write_path():
        # A timestamp without microseconds: ISO 8601 then has none either.
        Engagement.objects.filter(pk=engagements[0].pk).update(
            created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        )
        Agreement.objects.filter(pk=agreements[0].pk).update(updated_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    return {"agreements": agreements, "engagements": engagements}


class CopySpy:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = csv_files._copy_blocks

        def spy(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(csv_files, "_copy_blocks", spy)


def download(client, path, params) -> tuple[list[list[str]], str]:
    response = client.get(path, params)
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))), text


def both_paths(client, path, params, monkeypatch) -> tuple[list, list, str]:
    """The rows PostgreSQL writes, then those the Python path writes, and the COPY file's text."""
    spy = CopySpy(monkeypatch)
    copied, text = download(client, path, params)
    assert spy.calls == 1, "the export should be written by COPY"
    with monkeypatch.context() as python_only:
        python_only.setattr(csv_files, "copy_supported", lambda alias: False)
        written, _ = download(client, path, params)
    assert spy.calls == 1, "the Python path should not use COPY"
    return copied, written, text


API_FILTERS = {
    "/api/v1/engagements/": [
        {},
        {"topic": "climate"},
        {"visibility": "public", "ordering": "title"},
        {"q": "hi", "ordering": "-created_at"},
        {"q": "50% _off", "topic": ["climate", "trade-investment"]},
        {"counterpart_country": "JP", "start_after": "2026-03-02"},
    ],
    "/api/v1/agreements/": [
        {},
        {"topic": "trade-investment"},
        {"lapsed": "true"},
        {"ordering": "-title", "visibility": "restricted"},
    ],
}


@pytest.mark.parametrize("principal", ["partner", "staff_a", "staff_b", "liaison", "admin"])
@pytest.mark.parametrize("path", sorted(API_FILTERS))
def test_the_api_export_from_copy_is_the_serializers_for_every_reader_and_filter(
    cast, hostile, principal, path, monkeypatch
):
    client = APIClient()
    client.force_authenticate(cast[principal])
    seen_rows = 0
    for params in API_FILTERS[path]:
        copied, written, _ = both_paths(client, path, {**params, "format": "csv"}, monkeypatch)
        assert copied == written, params
        seen_rows += len(copied) - 1
        # Nothing a spreadsheet would run, in any cell (a plain number stays a number).
        assert not any(
            value.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(value)
            for row in copied[1:]
            for value in row
        )
    assert seen_rows, "the reader should see some records"


@pytest.mark.parametrize("principal", ["staff_a", "staff_b", "liaison", "admin"])
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/engagements/", {}),
        ("/engagements/", {"topic": "climate", "ordering": "title"}),
        ("/engagements/", {"visibility": "restricted"}),
        ("/agreements/", {}),
        ("/agreements/", {"ordering": "-signed_on", "topic": "trade-investment"}),
    ],
)
def test_the_list_pages_csv_from_copy_is_what_the_page_wrote(cast, hostile, principal, path, params, monkeypatch):
    client = Client()
    client.force_login(cast[principal])
    copied, written, _ = both_paths(client, path, {**params, "format": "csv"}, monkeypatch)
    assert copied == written
    assert len(copied) > 1


def test_the_cells_are_those_a_reader_expects(cast, hostile, monkeypatch):
    """What the equality above compares, spelled out for one engagement the liaison reads."""
    client = APIClient()
    client.force_authenticate(cast["liaison"])
    copied, _, _ = both_paths(client, "/api/v1/engagements/", {"format": "csv"}, monkeypatch)
    header, *rows = copied
    engagement = hostile["engagements"][1]  # '+1+1', with every relation
    row = dict(zip(header, next(row for row in rows if row[0] == str(engagement.pk)), strict=True))
    assert row["title"] == "'+1+1"
    # Counterpart side first, then home, each by id; a participant without a name by title.
    assert row["participants"] == "'=Kenji Sato; -Untitled guest; Ana Ruiz"
    assert row["counterpart_countries"] == "BR; CH; DE; JP"  # by code: by name, Switzerland would be last
    assert row["federal_coordination_requested"] == "true"
    assert row["end_date"] == ""
    first = dict(zip(header, next(row for row in rows if row[0] == str(hostile["engagements"][0].pk)), strict=True))
    assert first["created_at"] == "2026-01-02T03:04:05Z"
    assert first["federal_coordination_requested"] == "false"


def test_an_export_of_nothing_is_its_header(cast, hostile):
    client = Client()
    client.force_login(cast["liaison"])
    # A filter the form refuses lists nothing; its CSV is the header alone.
    rows, _ = download(client, "/engagements/", {"format": "csv", "start_after": "not a date"})
    assert len(rows) == 1 and rows[0][0] == "id"
    api = APIClient()
    api.force_authenticate(cast["liaison"])
    rows, _ = download(api, "/api/v1/agreements/", {"format": "csv", "q": "no such agreement anywhere"})
    assert len(rows) == 1 and rows[0][0] == "id"


@pytest.mark.parametrize("principal", ["staff_a", "staff_b", "admin"])
@pytest.mark.parametrize("kind", ["engagements", "agreements"])
def test_the_import_format_export_from_copy_is_what_python_wrote(cast, hostile, principal, kind, monkeypatch):
    """`/imports/export/<kind>.csv`: the caller's records in the import format, city references
    as the resolver names them, every cell guarded: the same file from either path."""
    client = Client()
    client.force_login(cast[principal])
    copied, written, _ = both_paths(client, f"/imports/export/{kind}.csv", {}, monkeypatch)
    assert copied == written
    assert len(copied) > 1
