"""The import API, the upload and job pages, the error report download and the command."""

import csv
import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from engagements.models import Engagement
from imports.models import ImportJob
from imports.services import create_job, run_job

pytestmark = pytest.mark.django_db

GOOD = 'external_id,city,title,kind,status,start_date\nP-1,"Los Angeles, US-CA",Visit,other,planned,2024-01-01\n'
FORMULA = 'external_id,city,title,kind,status,start_date\nP-2,"Los Angeles, US-CA",Sum,other,planned,=1+2\n'


def _api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _post(client, text=GOOD, name="a.csv", **fields):
    upload = io.BytesIO(text.encode())
    upload.name = name
    return client.post(
        reverse("api:import-list"), {"file": upload, "kind": "engagements", **fields}, format="multipart"
    )


def _job(owner, text=GOOD, *, run=True):
    job = create_job(owner=owner, upload=ContentFile(text.encode(), name="a.csv"), kind="engagements", enqueue=False)
    return run_job(job.pk) if run else job


def test_staff_upload_runs_after_commit_and_answers_with_the_job(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = _post(_api(world["staff_a"]), dry_run="true")

    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["dry_run"]) == ("queued", True)
    detail = _api(world["staff_a"]).get(reverse("api:import-detail", args=[answer.json()["id"]])).json()
    assert {key: detail[key] for key in ("status", "total_rows", "created", "error_count", "errors")} == {
        "status": "succeeded",
        "total_rows": 1,
        "created": 1,
        "error_count": 0,
        "errors": [],
    }
    assert not Engagement.objects.exists()


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("partner", 403), ("liaison", 403)])
def test_only_staff_and_admins_may_upload(cast, world, who, status):
    assert _post(_api(cast[who])).status_code == status
    assert not ImportJob.objects.exists()


def test_a_bad_upload_is_a_400_naming_the_field(world, settings):
    settings.IMPORT_MAX_FILE_BYTES = 10
    answer = _post(_api(world["staff_a"]))
    assert answer.status_code == 400
    assert "the limit is" in answer.json()["file"][0]
    settings.IMPORT_MAX_FILE_BYTES = 10_000
    assert "only administrators" in _post(_api(world["staff_a"]), kind="cities").json()["kind"][0]


def test_people_see_their_own_jobs_and_admins_see_all(world, django_assert_num_queries):
    mine, theirs = _job(world["staff_a"], run=False), _job(world["staff_b"], GOOD.replace("P-1", "P-9"), run=False)

    # One query counts the caller's jobs, one reads the page of them with their owners.
    with django_assert_num_queries(2):
        listed = _api(world["staff_a"]).get(reverse("api:import-list")).json()
    assert [job["id"] for job in listed["results"]] == [mine.pk]
    assert _api(world["staff_a"]).get(reverse("api:import-detail", args=[theirs.pk])).status_code == 404
    everyone = _api(world["admin"]).get(reverse("api:import-list")).json()
    assert {job["id"] for job in everyone["results"]} == {mine.pk, theirs.pk}


def test_the_error_report_downloads_as_spreadsheet_safe_csv(world, client):
    job = _job(world["staff_a"], FORMULA)
    client.force_login(world["staff_a"])

    response = client.get(reverse("imports:errors-csv", args=[job.pk]))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["row", "column", "value", "message"]
    assert rows[1][:3] == ["2", "start_date", "'=1+2"]
    assert rows[1][3].startswith("'“=1+2”") or rows[1][3].startswith("“=1+2”")


def test_another_users_job_page_and_report_are_not_found(world, client):
    job = _job(world["staff_a"], FORMULA)
    client.force_login(world["staff_b"])
    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 404
    assert client.get(reverse("imports:errors-csv", args=[job.pk])).status_code == 404


def test_the_upload_page_form_starts_a_job_and_shows_its_report(world, client, django_capture_on_commit_callbacks):
    client.force_login(world["staff_a"])
    page = client.get(reverse("imports:upload")).content.decode()
    for field in ("file", "kind", "dry_run"):
        assert f'for="id_{field}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("imports:upload"), {"file": ContentFile(FORMULA.encode(), name="f.csv"), "kind": "engagements"}
        )

    job = ImportJob.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("imports:job", args=[job.pk])
    report = client.get(answer["Location"]).content.decode()
    assert "Succeeded" in report and "Rejected rows" in report and "ISO 8601" in report
    assert "hx-trigger" not in report  # a finished job stops polling


def test_a_running_job_page_polls_for_progress_with_htmx(world, client):
    job = _job(world["staff_a"], run=False)
    client.force_login(world["staff_a"])

    fragment = client.get(reverse("imports:job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()

    assert fragment.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in fragment


def test_the_upload_form_shows_a_refusal_next_to_the_file(world, client, settings):
    settings.IMPORT_MAX_FILE_BYTES = 10
    client.force_login(world["staff_a"])
    page = client.post(
        reverse("imports:upload"), {"file": ContentFile(GOOD.encode(), name="a.csv"), "kind": "engagements"}
    )
    assert page.status_code == 200 and "the limit is" in page.content.decode()


def test_importfile_prints_the_report_as_json_on_the_last_line(world, tmp_path, capsys):
    source = tmp_path / "a.csv"
    source.write_text(GOOD + FORMULA.splitlines()[1] + "\n", encoding="utf-8")

    call_command("importfile", "engagements", str(source), "--as", "alice")

    out, err = capsys.readouterr()
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["status"], report["created"], report["error_count"]) == ("succeeded", 1, 1)
    assert report["errors"][0]["row"] == 3
    assert "rows" in err  # the progress bar


@pytest.mark.parametrize(
    "arguments, reason",
    [
        (["engagements", "/no/such/file.csv"], "No such file"),
        (["engagements", "{good}", "--as", "nobody"], "No active user is called nobody"),
        (["engagements", "{bad}", "--as", "alice"], "not UTF-8"),
    ],
)
def test_importfile_fails_with_a_one_line_reason(world, tmp_path, arguments, reason):
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.csv").write_bytes(GOOD.replace("Visit", "Zürich").encode("cp1252"))
    arguments = [a.format(good=tmp_path / "good.csv", bad=tmp_path / "bad.csv") for a in arguments]
    with pytest.raises(CommandError, match=reason) as failure:
        call_command("importfile", *arguments)
    assert "\n" not in str(failure.value)


def test_the_upload_page_says_how_rows_find_their_records(world, client):
    client.force_login(world["staff_a"])
    page = client.get(reverse("imports:upload")).content.decode()
    assert "external_id within the city when given, otherwise city + title + start_date" in page
    assert reverse("imports:export-csv", args=["engagements"]) in page


# --- SPEC §6: an unknown column is ignored and named once in the report's warnings ------------------

UNKNOWN_COLUMNS = (
    "external_id,city,title,kind,status,start_date,Colour,<b>mood</b>,colour\n"
    'W-1,"Los Angeles, US-CA",Visit,other,planned,2024-01-01,red,happy,blue\n'
)


def test_unknown_columns_are_warnings_in_the_api_the_page_and_the_command(world, client, tmp_path, capsys):
    text = UNKNOWN_COLUMNS.replace(",colour\n", "\n").replace(",blue\n", "\n")
    job = _job(world["staff_a"], text)
    assert (job.status, job.created, job.error_count) == ("succeeded", 1, 0)
    assert job.warnings == [
        "The column “colour” is not a column of engagements; it was ignored.",
        "The column “<b>mood</b>” is not a column of engagements; it was ignored.",
    ]
    assert Engagement.objects.get(external_id="W-1").title == "Visit"

    answer = _api(world["staff_a"]).get(reverse("api:import-detail", args=[job.pk])).json()
    assert answer["warnings"] == job.warnings
    listed = _api(world["staff_a"]).get(reverse("api:import-list")).json()["results"]
    assert listed[0]["warnings"] == job.warnings

    client.force_login(world["staff_a"])
    page = client.get(job.page_url).content.decode()
    assert "Warnings" in page and "“colour”" in page
    assert "&lt;b&gt;mood&lt;/b&gt;" in page and "<b>mood</b>" not in page

    source = tmp_path / "w.csv"
    source.write_text(text.replace("W-1", "W-2"), encoding="utf-8")
    call_command("importfile", "engagements", str(source), "--as", "alice")
    report = json.loads(capsys.readouterr()[0].strip().splitlines()[-1])
    assert report["status"] == "succeeded" and len(report["warnings"]) == 2


def test_a_column_named_twice_is_still_a_failure_and_a_clean_file_has_no_warnings(world):
    assert _job(world["staff_a"], UNKNOWN_COLUMNS).status == "failed"
    assert _job(world["staff_a"], GOOD).warnings == []


def test_a_resumed_job_names_each_unknown_column_once(world):
    text = UNKNOWN_COLUMNS.replace(",colour\n", "\n").replace(",blue\n", "\n")
    job = _job(world["staff_a"], text, run=False)
    ImportJob.objects.filter(pk=job.pk).update(
        warnings=["The column “colour” is not a column of engagements; it was ignored."]
    )
    job = run_job(job.pk)
    assert len(job.warnings) == 2
