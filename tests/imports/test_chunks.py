"""How a file is cut into chunks, parsed ahead and written in bulk never shows in the result:
the records, their relations, their history and the row errors are the same whether the file is
one chunk or many, interrupted and resumed or not, and each history entry is the one the
engagement service writes for the same record."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile

from cities.models import Country, Organization, Topic
from engagements.models import Engagement
from engagements.services import save_engagement
from engagements.write_path import write_path
from imports import services
from imports.models import ImportJob, ImportRowError, ImportSeenKey
from imports.services import create_job, resume_stalled_jobs, run_job
from tests import factories
from utilities.sqlbulk import insert_values

from .helpers import errors_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mexico():
    factories.country("MX")


HEADER = (
    "external_id,city,title,kind,status,start_date,end_date,location_city,counterpart_cities,"
    "counterpart_organizations,topics,visibility,summary,counterpart_countries\n"
)
COUNTERPARTS = ["Nagoya, JP", "Berlin, DE", "Windhoek, NA", "Nagoya, JP; Berlin, DE"]


def _first_file() -> str:
    lines = []
    for n in range(1, 12):
        counterpart = COUNTERPARTS[n % len(COUNTERPARTS)]
        organization = "Goethe-Institut" if n % 3 == 0 else ""
        named = "MX" if n % 4 == 0 else ""
        lines.append(
            f'E-{n},"Los Angeles, US-CA",Meeting {n},bilateral_meeting,completed,2024-03-{n:02d},,'
            f'"{counterpart.split(";")[0]}","{counterpart}",{organization},climate,internal,Notes {n},{named}\n'
        )
    # Problems the report must give at the same rows whatever the chunks: a bad date, an unknown
    # topic, a city the actor may not import for, and a second row for E-2.
    lines.append('E-90,"Los Angeles, US-CA",Bad date,bilateral_meeting,completed,2024-13-01,,,,,,internal,,\n')
    lines.append('E-91,"Los Angeles, US-CA",Bad topic,bilateral_meeting,completed,2024-04-01,,,,,weather,internal,,\n')
    lines.append('E-92,"Chicago, US-IL",Not mine,bilateral_meeting,completed,2024-04-01,,,,,,internal,,\n')
    lines.append('E-2,"Los Angeles, US-CA",Twice,bilateral_meeting,completed,2024-04-01,,,,,,internal,,\n')
    return HEADER + "".join(lines)


def _second_file() -> str:
    """Updates of some records (fields, relations), unchanged rows and a new one."""
    return HEADER + "".join(
        [
            'E-1,"Los Angeles, US-CA",Meeting 1,conference,completed,2024-03-01,,"Berlin, DE","Berlin, DE",,climate,public,Notes 1,\n',
            'E-2,"Los Angeles, US-CA",Meeting 2,bilateral_meeting,completed,2024-03-02,,"Windhoek, NA","Nagoya, JP",,climate,internal,Notes 2,\n',
            'E-3,"Los Angeles, US-CA",Meeting 3,bilateral_meeting,completed,2024-03-03,,"Nagoya, JP","Nagoya, JP; Berlin, DE",Goethe-Institut,climate,internal,Notes 3,\n',
            'E-12,"Los Angeles, US-CA",Meeting 12,virtual_meeting,planned,2025-01-01,,,"Nagoya, JP",,,internal,,\n',
        ]
    )


def _run(owner, text: str):
    job = create_job(owner=owner, upload=ContentFile(text.encode(), name="e.csv"), kind="engagements", enqueue=False)
    return run_job(job.pk)


def _state() -> dict:
    """Everything an import writes, keyed by what the file names (ids and clocks left out)."""
    records = {}
    for record in Engagement.objects.order_by("external_id"):
        records[record.external_id] = (
            record.title,
            record.kind,
            record.start_date,
            record.version,
            record.visibility,
            record.location_city_id,
            sorted(record.counterpart_cities.values_list("pk", flat=True)),
            sorted(record.counterpart_organizations.values_list("pk", flat=True)),
            sorted(record.named_countries.values_list("iso2", flat=True)),
            sorted(record.counterpart_countries.values_list("iso2", flat=True)),
            sorted(record.topics.values_list("slug", flat=True)),
        )
    history = []
    for entry in Engagement.history.order_by("external_id", "version", "history_type"):
        history.append(
            (
                entry.external_id,
                entry.history_type,
                entry.version,
                entry.title,
                entry.kind,
                entry.history_user_id,
                sorted(entry.counterpart_cities.values_list("city_id", flat=True)),
                sorted(entry.counterpart_organizations.values_list("organization_id", flat=True)),
                sorted(entry.named_countries.values_list("country_id", flat=True)),
                sorted(entry.topics.values_list("topic_id", flat=True)),
            )
        )
    return {"records": records, "history": history}


def _import_both_files(owner) -> tuple[dict, list, list]:
    first = _run(owner, _first_file())
    second = _run(owner, _second_file())
    counts = [(job.created, job.updated, job.unchanged, job.error_count) for job in (first, second)]
    return _state(), counts, [errors_of(first), errors_of(second)]


def _forget_everything() -> None:
    with write_path():
        Engagement.objects.all().delete()
    Engagement.history.all().delete()


def test_chunks_of_any_size_write_the_same_records_history_and_errors(world, monkeypatch):
    owner = world["staff_a"]
    monkeypatch.setattr(services, "CHUNK_ROWS", 1000)
    whole = _import_both_files(owner)
    for size in (1, 2, 5):
        _forget_everything()
        monkeypatch.setattr(services, "CHUNK_ROWS", size)
        assert _import_both_files(owner) == whole, f"chunks of {size}"

    state, counts, errors = whole
    assert counts == [(11, 0, 0, 4), (1, 2, 1, 0)]
    assert [(row, column) for row, column, _ in errors[0]] == [
        (13, "start_date"),
        (14, "topics"),
        (15, "city"),
        (16, "external_id"),
    ]
    assert state["records"]["E-1"][3] == 2 and state["records"]["E-3"][3] == 1
    assert state["records"]["E-4"][8:10] == (["MX"], ["JP", "MX"])


class WorkerDied(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the job catches it."""


def test_a_job_killed_between_chunks_and_resumed_writes_what_an_uninterrupted_one_does(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    kill_after_two_chunks_and_resume(world["staff_a"], django_capture_on_commit_callbacks)


def kill_after_two_chunks_and_resume(owner, capture_on_commit_callbacks) -> None:
    """Import the first file whole, then again killed after two chunks and resumed (chunks of
    `services.CHUNK_ROWS`): the same records, history and errors, and no seen key left over."""
    whole = _run(owner, _first_file())
    expected = (_state(), errors_of(whole))
    _forget_everything()
    job = create_job(
        owner=owner, upload=ContentFile(_first_file().encode(), name="e.csv"), kind="engagements", enqueue=False
    )

    def die_after_two_chunks(current):
        if current.processed_rows >= 2 * services.CHUNK_ROWS:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        run_job(job.pk, progress=die_after_two_chunks)
    assert ImportJob.objects.get(pk=job.pk).processed_rows == 2 * services.CHUNK_ROWS
    with capture_on_commit_callbacks(execute=True):
        assert resume_stalled_jobs(stale_after=0) == [job.pk]

    job.refresh_from_db()
    assert (job.status, job.created, job.error_count) == ("succeeded", 11, 4)
    assert (_state(), errors_of(job)) == expected
    assert not ImportSeenKey.objects.filter(job=job).exists()


def test_an_imported_history_entry_is_the_one_the_service_writes(world):
    owner, home = world["staff_a"], world["los_angeles"]
    berlin, nagoya = world["berlin"], world["nagoya"]
    _run(
        owner,
        HEADER + 'X-1,"Los Angeles, US-CA",Visit,conference,completed,2024-05-01,2024-05-03,"Berlin, DE",'
        '"Berlin, DE; Nagoya, JP",Goethe-Institut,climate,public,Text,MX\n',
    )
    saved = save_engagement(
        actor=owner,
        data={
            "city": home,
            "external_id": "X-2",
            "title": "Visit",
            "kind": "conference",
            "status": "completed",
            "start_date": dt.date(2024, 5, 1),
            "end_date": dt.date(2024, 5, 3),
            "location_city": berlin,
            "counterpart_cities": [berlin, nagoya],
            "counterpart_organizations": [Organization.objects.get(name="Goethe-Institut")],
            "topics": [Topic.objects.get(slug="climate")],
            "visibility": "public",
            "summary": "Text",
            "named_countries": [Country.objects.get(iso2="MX")],
        },
    )
    imported = Engagement.objects.get(external_id="X-1")

    def entry(record):
        (found,) = record.history.all()
        tracked = {
            field.attname: getattr(found, field.attname)
            for field in found.tracked_fields
            if field.attname not in ("id", "external_id", "created_at")
        }
        relations = {
            name: sorted(getattr(found, name).values_list(column, flat=True))
            for name, column in (
                ("counterpart_cities", "city_id"),
                ("counterpart_organizations", "organization_id"),
                ("named_countries", "country_id"),
                ("topics", "topic_id"),
            )
        }
        return found.history_type, found.history_user_id, tracked, relations

    assert entry(imported) == entry(saved)
    assert sorted(imported.counterpart_countries.values_list("iso2", flat=True)) == sorted(
        saved.counterpart_countries.values_list("iso2", flat=True)
    )


def test_any_of_finds_what_a_plain_in_lookup_finds(world):
    owner = world["staff_a"]
    _run(owner, _first_file())
    wanted = ["E-1", "E-5", "E-404", "E-11"]
    assert sorted(Engagement.objects.filter(external_id__any_of=wanted).values_list("pk", flat=True)) == sorted(
        Engagement.objects.filter(external_id__in=wanted).values_list("pk", flat=True)
    )
    job = _run(owner, HEADER)
    digests = [-(2**63), -1, 0, 2**63 - 1]
    insert_values(
        ImportSeenKey, ["job_id", "digest", "row"], [(job.pk, d, n) for n, d in enumerate(digests)], returning=False
    )
    found = ImportSeenKey.objects.filter(job=job, digest__any_of=[digests[0], digests[3], 42])
    assert sorted(found.values_list("digest", "row")) == [(digests[0], 0), (digests[3], 3)]
    assert ImportSeenKey.objects.filter(job=job).count() == 4


def test_bulk_written_text_keeps_tabs_line_breaks_and_backslashes(world):
    job = _run(world["staff_a"], HEADER)
    texts = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "\\.", "plain"]
    insert_values(
        ImportRowError,
        ["job_id", "row", "column", "value", "message"],
        [(job.pk, row, "title", text, text) for row, text in enumerate(texts)],
        returning=False,
    )
    assert list(job.row_errors.order_by("row").values_list("value", "message")) == [(text, text) for text in texts]


def test_field_checks_report_every_row_the_same_however_often_a_value_repeats(world, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    long_venue = "V" * 301
    engagements = HEADER.replace("location_city,", "location_city,venue,")
    rows = [
        f'L-{n},"Los Angeles, US-CA",{"T" * 301 if n == 2 else f"Fine {n}"},conference,completed,2024-01-0{n},,,{long_venue if n != 3 else "Hall"},,,,internal,,\n'
        for n in range(1, 5)
    ]
    job = _run(world["staff_a"], engagements + "".join(rows))

    too_long = "Ensure this value has at most 300 characters (it has 301)."
    assert (job.created, job.error_count) == (1, 3)
    assert errors_of(job) == [
        (2, "venue", too_long),
        (3, "title", too_long),
        (3, "venue", too_long),
        (5, "venue", too_long),
    ]

    agreements = "external_id,city,title,kind,status,url\n" + "".join(
        f'A-{n},"Los Angeles, US-CA",Pact {n},sister_city,active,{"not a link" if n != 2 else "https://example.org"}\n'
        for n in range(1, 5)
    )
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(agreements.encode(), name="a.csv"), kind="agreements", enqueue=False
    )
    job = run_job(job.pk)
    assert (job.created, job.error_count) == (1, 3)
    assert errors_of(job) == [(n, "url", "Enter a valid URL.") for n in (2, 4, 5)]


def test_an_imported_history_entry_is_found_by_its_own_date(world):
    _run(world["staff_a"], _first_file())
    entry = Engagement.history.order_by("history_id").first()
    # Stored as the ORM stores dates (SQLite keeps text: an offset left in it would never match).
    assert Engagement.history.filter(history_date=entry.history_date).count() == 11
