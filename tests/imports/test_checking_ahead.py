"""A file of several chunks is checked a chunk ahead of its writes on PostgreSQL (each chunk read,
matched and validated while a writing thread commits the one before). Nothing of that shows in
the result: the same records, history and errors as chunks written in turn; a row naming a record
of the chunk still being written is a duplicate; a record another writer creates in between is
found and updated, never created twice. Real commits: the writing thread has its own connection."""

import datetime as dt
import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import F

from engagements.events import records_written
from engagements.models import Engagement
from engagements.services import save_engagement
from imports import services
from imports.models import ImportJob
from imports.services import create_job, run_job

from .helpers import errors_of
from .test_chunks import (
    _first_file,
    _forget_everything,
    _import_both_files,
    _run,
    kill_after_two_chunks_and_resume,
    mexico,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

__all__ = ["mexico"]  # the fixture every file here needs


@pytest.fixture
def writers(monkeypatch) -> list[str]:
    """The names of the threads that committed checked chunks."""
    names = []
    commit = services._commit_checked

    def spy(*args):
        names.append(threading.current_thread().name)
        return commit(*args)

    monkeypatch.setattr(services, "_commit_checked", spy)
    return names


def test_checking_ahead_writes_what_chunks_written_in_turn_write(world, monkeypatch, writers):
    owner = world["staff_a"]
    monkeypatch.setattr(services, "CHUNK_ROWS", 1000)
    whole = _import_both_files(owner)
    assert writers == [], "a file of one chunk is written in turn"
    for size in (1, 2, 5):
        _forget_everything()
        monkeypatch.setattr(services, "CHUNK_ROWS", size)
        assert _import_both_files(owner) == whole, f"chunks of {size}"

    assert writers and all(name.startswith("import-") for name in writers)
    # What the whole file writes is spelled out in test_chunks; here it only has to be equal.
    assert whole[1] == [(11, 0, 0, 4), (1, 2, 1, 0)]


def test_a_row_naming_a_record_of_the_chunk_being_written_is_a_duplicate(world, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    second_checked = threading.Event()
    check, commit = services._check_ahead, services._commit_checked
    results = []

    def check_then_release(job, parsed, *args):
        checked = check(job, parsed, *args)
        if parsed.candidates and parsed.candidates[0].row == 4:
            second_checked.set()
        return checked

    def commit_once_the_next_is_checked(job, attempt, checked, kind):
        # The first chunk commits only after the second was checked: its keys are not in the
        # database yet when the second chunk is checked.
        if checked.parsed.candidates[0].row == 2:
            assert second_checked.wait(timeout=30)
        results.append(commit(job, attempt, checked, kind))
        return results[-1]

    monkeypatch.setattr(services, "_check_ahead", check_then_release)
    monkeypatch.setattr(services, "_commit_checked", commit_once_the_next_is_checked)
    lines = [
        'E-1,"Los Angeles, US-CA",First,bilateral_meeting,completed,2024-03-01,,,,,,internal,,\n',
        'E-2,"Los Angeles, US-CA",Second,bilateral_meeting,completed,2024-03-02,,,,,,internal,,\n',
        'E-2,"Los Angeles, US-CA",Again,bilateral_meeting,completed,2024-03-03,,,,,,internal,,\n',
        'E-3,"Los Angeles, US-CA",Third,bilateral_meeting,completed,2024-03-04,,,,,,internal,,\n',
        'E-4,"Los Angeles, US-CA",Fourth,bilateral_meeting,completed,2024-03-05,,,,,,internal,,\n',
    ]
    job = _run(world["staff_a"], _first_file().splitlines(keepends=True)[0] + "".join(lines))

    # Caught while checking, not by the writer finding E-2 written meanwhile.
    assert results == ["written"] * 3
    assert (job.status, job.created, job.error_count) == ("succeeded", 4, 1)
    assert errors_of(job) == [
        (4, "external_id", "This row names the same record as row 3; a record may appear only once in a file.")
    ]
    assert Engagement.objects.get(external_id="E-2").title == "Second"


def test_a_record_another_writer_creates_meanwhile_is_updated_not_created_twice(world, monkeypatch, writers):
    owner = world["staff_a"]
    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    check = services._check_ahead

    def check_while_another_writer_saves(job, parsed, *args):
        checked = check(job, parsed, *args)
        if any(candidate.data.get("external_id") == "E-6" for candidate in checked.fresh):
            # Committed at once (autocommit): the chunk was matched before this record existed.
            save_engagement(
                actor=owner,
                data={
                    "city": world["los_angeles"],
                    "external_id": "E-6",
                    "title": "Entered by hand meanwhile",
                    "kind": "conference",
                    "status": "planned",
                    "start_date": dt.date(2024, 3, 6),
                    "visibility": "internal",
                },
            )
        return checked

    monkeypatch.setattr(services, "_check_ahead", check_while_another_writer_saves)
    job = _run(owner, _first_file())

    assert (job.status, job.created, job.updated, job.error_count) == ("succeeded", 10, 1, 4)
    (record,) = Engagement.objects.filter(external_id="E-6")
    assert (record.title, record.version) == ("Meeting 6", 2)
    assert record.history.count() == 2
    # The chunk written when the conflict was found, and those after it, were written in turn.
    assert len(writers) == 2


def test_a_job_killed_while_checking_ahead_resumes_to_what_an_uninterrupted_one_writes(
    world, monkeypatch, writers, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    kill_after_two_chunks_and_resume(world["staff_a"], django_capture_on_commit_callbacks)
    assert writers


def test_a_superseded_attempt_stops_before_writing_its_next_chunk(world, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    job = create_job(
        owner=world["staff_a"],
        upload=ContentFile(_first_file().encode(), name="e.csv"),
        kind="engagements",
        enqueue=False,
    )

    def another_worker_takes_over(current):
        if current.processed_rows:
            # The sweep presumed this worker dead and handed the job on.
            ImportJob.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)

    job = run_job(job.pk, progress=another_worker_takes_over)

    assert (job.status, job.processed_rows) == ("running", 3)
    assert Engagement.objects.count() == 3


def test_a_record_another_writer_changes_meanwhile_gets_the_rows_values_on_top(world, monkeypatch, writers):
    owner = world["staff_a"]
    _run(owner, _first_file())
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    check = services._check_ahead

    def check_while_another_writer_edits(job, parsed, *args):
        checked = check(job, parsed, *args)
        if any(candidate.data.get("external_id") == "E-5" for candidate in checked.fresh):
            record = Engagement.objects.get(external_id="E-5")
            save_engagement(actor=owner, engagement=record, data={"venue": "Edited by hand meanwhile"})
        return checked

    monkeypatch.setattr(services, "_check_ahead", check_while_another_writer_edits)
    updates = _first_file().splitlines(keepends=True)[0] + "".join(
        f'E-{n},"Los Angeles, US-CA",Meeting {n},bilateral_meeting,completed,2024-03-{n:02d},,,,,climate,internal,'
        f"Updated {n},\n"
        for n in range(1, 9)
    )
    job = _run(owner, updates)

    assert (job.status, job.updated, job.error_count) == ("succeeded", 8, 0)
    record = Engagement.objects.get(external_id="E-5")
    # The hand edit kept, the row's values written over it as a third version, not over the first.
    assert (record.summary, record.venue, record.version) == ("Updated 5", "Edited by hand meanwhile", 3)
    assert list(record.history.order_by("history_id").values_list("version", "history_type")) == [
        (1, "+"),
        (2, "~"),
        (3, "~"),
    ]
    assert len(writers) == 2


def test_the_writing_thread_leaves_no_connection_open(world, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)

    def open_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = open_connections()
    job = _run(world["staff_a"], _first_file())

    assert job.status == "succeeded"
    assert open_connections() == before


def test_each_written_chunk_is_announced_once_after_its_commit_by_the_jobs_thread(world, monkeypatch, writers):
    """The writing thread keeps what a chunk announces; the job's thread sends it while the next
    chunk is written, and the last as it finishes: every record once, already committed."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    announced = []

    def receiver(sender, *, created, changed, **kwargs):
        committed = Engagement.objects.filter(pk__in=created).count()
        announced.append((threading.current_thread().name, sorted(created), committed))

    records_written.connect(receiver, sender=Engagement, dispatch_uid="test-announced-once")
    try:
        job = _run(world["staff_a"], _first_file())
    finally:
        records_written.disconnect(dispatch_uid="test-announced-once", sender=Engagement)

    assert writers, "the file was checked ahead"
    assert job.created == 11
    assert len(announced) > 1
    assert {name for name, _, _ in announced} == {threading.main_thread().name}
    assert all(committed == len(ids) for _, ids, committed in announced)
    ids = [pk for _, created, _ in announced for pk in created]
    assert sorted(ids) == sorted(Engagement.objects.values_list("pk", flat=True))


def test_checked_ahead_the_first_chunks_grow_to_the_chunk_size_and_write_the_same(world, monkeypatch):
    """The writing thread waits for the first check: the first chunks are smaller, doubling."""
    owner = world["staff_a"]
    monkeypatch.setattr(services, "CHUNK_ROWS", 1000)
    whole = _import_both_files(owner)
    _forget_everything()
    monkeypatch.setattr(services, "CHUNK_ROWS", 8)
    monkeypatch.setattr(services, "GROWING_FROM_ROWS", 1)
    sizes = []
    commit = services._commit_checked

    def spy(job, attempt, checked, kind):
        sizes.append(checked.parsed.size)
        return commit(job, attempt, checked, kind)

    monkeypatch.setattr(services, "_commit_checked", spy)
    assert _import_both_files(owner) == whole
    # The first file's 15 rows; the second file is one chunk, written in turn.
    assert sizes == [1, 2, 4, 8]
