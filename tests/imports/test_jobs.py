"""Import jobs as users meet them: re-imports that change nothing, dry runs, who may import what,
resuming after a crash, and the stalled-job sweep."""

import datetime as dt
import importlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone

from engagements.models import Engagement
from imports import services
from imports.models import ImportJob, ImportSeenKey
from imports.services import create_job, resume_stalled_jobs, run_job

from .helpers import errors_of, import_text, report_of

pytestmark = pytest.mark.django_db

HEADER = "external_id,city,title,kind,status,start_date,end_date,counterpart_cities,topics,visibility,summary\n"


def _rows(count: int, *, title: str = "Meeting", start: str = "2024-03-01") -> str:
    return HEADER + "".join(
        f'R-{n},"Los Angeles, US-CA",{title} {n},bilateral_meeting,completed,{start},,"Nagoya, JP; Berlin, DE",climate,internal,Notes\n'
        for n in range(1, count + 1)
    )


def test_importing_the_same_file_twice_changes_nothing_the_second_time(world, tmp_path):
    first = import_text(tmp_path, "a.csv", _rows(5), owner=world["staff_a"], kind="engagements")
    versions = dict(Engagement.objects.values_list("external_id", "version"))
    history = Engagement.history.count()

    second = import_text(tmp_path, "a.csv", _rows(5), owner=world["staff_a"], kind="engagements")

    assert (first.created, second.created, second.updated, second.unchanged) == (5, 0, 0, 5)
    assert dict(Engagement.objects.values_list("external_id", "version")) == versions
    assert Engagement.history.count() == history


def test_a_changed_row_updates_its_record_once_with_a_new_version_and_history(world, tmp_path):
    import_text(tmp_path, "a.csv", _rows(3), owner=world["staff_a"], kind="engagements")
    history = Engagement.history.count()
    changed = _rows(3).replace('R-2,"Los Angeles, US-CA",Meeting 2,', 'R-2,"Los Angeles, US-CA",Renamed meeting,')

    job = import_text(tmp_path, "b.csv", changed, owner=world["staff_a"], kind="engagements")

    assert (job.created, job.updated, job.unchanged) == (0, 1, 2)
    renamed = Engagement.objects.get(external_id="R-2")
    assert (renamed.title, renamed.version) == ("Renamed meeting", 2)
    assert Engagement.history.count() == history + 1
    latest = renamed.history.first()
    assert (latest.history_type, latest.history_user) == ("~", world["staff_a"])
    assert sorted(latest.counterpart_cities.values_list("city__name", flat=True)) == ["Berlin", "Nagoya"]


def test_an_imported_record_matches_what_the_service_would_have_saved(world, tmp_path):
    import_text(tmp_path, "a.csv", _rows(1), owner=world["staff_a"], kind="engagements")

    engagement = Engagement.objects.get(external_id="R-1")

    assert engagement.created_by == world["staff_a"]
    assert sorted(engagement.counterpart_countries.values_list("iso2", flat=True)) == ["DE", "JP"]
    assert list(engagement.topics.values_list("slug", flat=True)) == ["climate"]
    created = engagement.history.get()
    assert (created.history_type, created.history_user, created.title) == ("+", world["staff_a"], "Meeting 1")
    assert created.topics.count() == 1


def test_a_dry_run_reports_an_update_and_writes_nothing(world, tmp_path):
    import_text(tmp_path, "a.csv", _rows(2), owner=world["staff_a"], kind="engagements")
    changed = _rows(2).replace("Meeting 1", "Meeting one") + (
        'R-3,"Los Angeles, US-CA",New,other,planned,2024-05-01,,,,internal,\n'
    )

    job = import_text(tmp_path, "b.csv", changed, owner=world["staff_a"], kind="engagements", dry_run=True)

    assert (job.status, job.created, job.updated, job.unchanged) == ("succeeded", 1, 1, 1)
    assert sorted(Engagement.objects.values_list("title", flat=True)) == ["Meeting 1", "Meeting 2"]
    assert Engagement.objects.get(external_id="R-1").version == 1


def test_a_column_left_out_of_the_file_leaves_its_field_alone(world, tmp_path):
    import_text(tmp_path, "a.csv", _rows(1), owner=world["staff_a"], kind="engagements")
    job = import_text(
        tmp_path,
        "b.csv",
        "external_id,city,title,kind,status,start_date\n"
        'R-1,"Los Angeles, US-CA",Meeting 1,bilateral_meeting,cancelled,2024-03-01\n',
        owner=world["staff_a"],
        kind="engagements",
    )

    engagement = Engagement.objects.get(external_id="R-1")
    assert job.updated == 1
    assert (engagement.status, engagement.summary, engagement.counterpart_cities.count()) == ("cancelled", "Notes", 2)


def test_rows_without_external_id_are_matched_by_title_and_start_date(world, tmp_path):
    text = (
        'city,title,kind,status,start_date,summary\n"Los Angeles, US-CA",Budget talks,other,planned,2024-04-01,First\n'
    )
    import_text(tmp_path, "a.csv", text, owner=world["staff_a"], kind="engagements")

    job = import_text(tmp_path, "b.csv", text.replace("First", "Second"), owner=world["staff_a"], kind="engagements")

    assert (job.created, job.updated) == (0, 1)
    assert Engagement.objects.get().summary == "Second"


def test_staff_cannot_import_for_another_city_but_an_admin_can(world, tmp_path):
    text = 'external_id,city,title,kind,status,start_date\nC-1,"Chicago, US-IL",Visit,other,planned,2024-01-01\n'

    refused = import_text(tmp_path, "a.csv", text, owner=world["staff_a"], kind="engagements")
    accepted = import_text(tmp_path, "b.csv", text, owner=world["admin"], kind="engagements")

    assert (refused.created, refused.error_count) == (0, 1)
    assert "only for your home cities" in errors_of(refused)[0][2]
    assert (accepted.created, accepted.error_count) == (1, 0)


def test_liaisons_and_partners_cannot_start_an_import(world, partner):
    for user in (world["liaison"], partner):
        with pytest.raises(services.PermissionDenied):
            create_job(owner=user, upload=ContentFile(b"a,b\n", name="a.csv"), kind="engagements", enqueue=False)


def test_a_file_over_the_size_limit_is_refused_with_its_size(world, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    with pytest.raises(ValidationError, match="the limit is"):
        create_job(owner=world["staff_a"], upload=ContentFile(b"x" * 2048, name="big.csv"), kind="engagements")


def test_the_same_file_cannot_run_twice_at_once(world):
    create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(1).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    with pytest.raises(ValidationError, match="already being imported"):
        create_job(
            owner=world["staff_a"],
            upload=ContentFile(_rows(1).encode(), name="a.csv"),
            kind="engagements",
            enqueue=False,
        )
    rehearsal = create_job(
        owner=world["staff_a"],
        upload=ContentFile(_rows(1).encode(), name="a.csv"),
        kind="engagements",
        dry_run=True,
        enqueue=False,
    )
    assert rehearsal.status == "queued"


def test_a_job_is_enqueued_only_once_its_row_is_committed(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        job = create_job(
            owner=world["staff_a"], upload=ContentFile(_rows(2).encode(), name="a.csv"), kind="engagements"
        )
        assert ImportJob.objects.get(pk=job.pk).status == "queued"
    assert len(callbacks) == 1
    callbacks[0]()  # the eager task runs the job, as the worker would after the commit
    assert report_of(ImportJob.objects.get(pk=job.pk))["created"] == 2


class WorkerDied(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the job catches it."""


def test_a_job_interrupted_after_two_chunks_resumes_after_them(world, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(10).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    commits = []

    def die_after_two_chunks(current):
        commits.append(current.processed_rows)
        if current.processed_rows >= 6:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        run_job(job.pk, progress=die_after_two_chunks)
    assert (ImportJob.objects.get(pk=job.pk).processed_rows, Engagement.objects.count()) == (6, 6)

    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stalled_jobs(stale_after=0) == [job.pk]

    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed_rows, job.created, job.error_count) == ("succeeded", 2, 10, 10, 0)
    assert Engagement.objects.count() == 10
    assert Engagement.history.count() == 10
    assert not ImportSeenKey.objects.filter(job=job).exists()


def test_a_duplicate_is_still_caught_in_a_later_chunk_after_a_resume(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    text = _rows(3) + 'R-1,"Los Angeles, US-CA",Again,other,planned,2024-05-01,,,,internal,\n'
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(text.encode(), name="a.csv"), kind="engagements", enqueue=False
    )

    def die_after_one_chunk(current):
        if current.processed_rows >= 2:
            raise WorkerDied

    with pytest.raises(WorkerDied):
        run_job(job.pk, progress=die_after_one_chunk)
    with django_capture_on_commit_callbacks(execute=True):
        resume_stalled_jobs(stale_after=0)

    job.refresh_from_db()
    assert (job.created, job.error_count) == (3, 1)
    assert errors_of(job) == [
        (5, "external_id", "This row names the same record as row 2; a record may appear only once in a file.")
    ]


def test_a_worker_presumed_dead_that_wakes_up_commits_nothing(world):
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(2).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    first = services._claim(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    second = services._claim(job.pk)

    assert (first, second) == (1, 2)
    stale_worker = ImportJob.objects.get(pk=job.pk)
    assert services._commit_chunk(stale_worker, first, [], services.KINDS["engagements"], None) is False


def test_a_running_job_with_a_live_heartbeat_is_not_claimed_twice(world):
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(2).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    assert services._claim(job.pk) == 1
    assert services._claim(job.pk) is None
    assert resume_stalled_jobs() == []


def test_the_sweep_gives_up_after_the_attempt_cap(world, settings):
    settings.IMPORT_MAX_ATTEMPTS = 2
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(2).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", attempts=2, heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )

    assert resume_stalled_jobs() == []

    job.refresh_from_db()
    assert job.status == "failed"
    assert "started 2 times" in job.message


def test_a_job_queued_too_long_is_sent_again(world, django_capture_on_commit_callbacks):
    job = create_job(
        owner=world["staff_a"], upload=ContentFile(_rows(1).encode(), name="a.csv"), kind="engagements", enqueue=False
    )
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stalled_jobs() == [job.pk]

    assert ImportJob.objects.get(pk=job.pk).status == "succeeded"


def test_the_beat_entry_that_resumes_stalled_imports_is_installed_once():
    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    schedule = importlib.import_module("imports.migrations.0002_resume_stalled_imports_schedule")
    schedule.create_schedule(apps, None)
    schedule.create_schedule(apps, None)

    entry = PeriodicTask.objects.get(task="imports.resume_stalled_imports")
    assert (entry.enabled, entry.interval.every, entry.interval.period) == (True, 60, "seconds")
