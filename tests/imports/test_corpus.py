"""Every awkward file of the corpus gives the report written beside it, and a dry run of it
reports exactly what the real import then does, without writing anything."""

import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File

from cities.models import City, NetworkMembership, Organization
from engagements.models import Agreement, Engagement
from imports.services import create_job

from .helpers import CORPUS, COUNTS, errors_of, import_file, report_of

pytestmark = pytest.mark.django_db

CASES = sorted(CORPUS.glob("*.expected.json"))
MODELS = {
    "cities": City,
    "organizations": Organization,
    "memberships": NetworkMembership,
    "agreements": Agreement,
    "engagements": Engagement,
}


def _expected(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_corpus_has_at_least_fifty_files():
    assert len(CASES) >= 50
    assert all((CORPUS / _expected(path)["file"]).exists() for path in CASES)


def test_no_case_expects_a_crash():
    for path in CASES:
        case = _expected(path)
        assert "unexpected error" not in json.dumps(case).lower(), path.name
        assert case.get("status") in ("succeeded", "failed"), path.name


@pytest.mark.parametrize("case_path", CASES, ids=[path.name.removesuffix(".expected.json") for path in CASES])
def test_corpus_file_gives_its_expected_report(case_path, world, settings):
    case = _expected(case_path)
    for name, value in case.get("settings", {}).items():
        setattr(settings, name, value)
    source, owner, kind = CORPUS / case["file"], world[case.get("actor", "staff_a")], case["kind"]
    model = MODELS[kind]

    if "refused" in case:
        with source.open("rb") as handle, pytest.raises(ValidationError) as refusal:
            create_job(owner=owner, upload=File(handle, name=source.name), kind=kind, enqueue=False)
        assert case["refused"] in str(refusal.value)
        return

    before = model.objects.count()
    rehearsal = import_file(source, owner=owner, kind=kind, dry_run=True)
    assert model.objects.count() == before, "a dry run wrote records"
    started = time.monotonic()
    job = import_file(source, owner=owner, kind=kind)
    if "max_seconds" in case:
        assert time.monotonic() - started < case["max_seconds"]

    assert "unexpected error" not in job.message
    assert job.status == case["status"], job.message
    assert report_of(rehearsal) == report_of(job)
    assert errors_of(rehearsal) == errors_of(job)
    # Every unknown column named once, in the dry run as in the real import (SPEC §6).
    assert rehearsal.warnings == job.warnings
    wanted_warnings = case.get("warnings", [])
    assert len(job.warnings) == len(wanted_warnings), job.warnings
    for warning, wanted in zip(job.warnings, wanted_warnings, strict=True):
        assert wanted in warning
    if "attempts" in case:
        assert job.attempts == case["attempts"]
    if case["status"] == "failed":
        assert case["message"] in job.message
        assert job.total_rows is None and job.processed_rows == 0 and model.objects.count() == before
        return
    assert {name: getattr(job, name) for name in COUNTS} == {name: case[name] for name in COUNTS}
    assert job.created + job.updated + job.unchanged + job.error_count == job.total_rows
    assert model.objects.count() - before == job.created
    found = errors_of(job)
    assert [(row, column) for row, column, _ in found] == [(e["row"], e["column"]) for e in case["errors"]]
    for (_, _, message), wanted in zip(found, case["errors"], strict=True):
        assert wanted["message"] in message
    for title in case.get("titles", []):
        assert Engagement.objects.filter(title=title).exists()
    for name, code in case.get("countries", {}).items():
        assert Organization.objects.get(name=name).country_id == code
    for external_id, codes in case.get("counterpart_countries", {}).items():
        engagement = Engagement.objects.get(external_id=external_id)
        assert sorted(engagement.counterpart_countries.values_list("iso2", flat=True)) == codes
