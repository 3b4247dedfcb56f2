"""Issue #13: hostile input is a clear 4xx or a row error, never a 500."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from engagements.models import Engagement
from tests import factories
from tests.imports.helpers import errors_of, import_text

pytestmark = pytest.mark.django_db


# --- type-ahead ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cities/search/", "/organizations/search/"])
def test_nul_in_the_type_ahead_is_ignored_not_a_500(client, staff_a, path):
    client.force_login(staff_a)
    assert client.get(f"{path}?q=%00").status_code == 200
    assert client.get(f"{path}?q=Los%00Angeles").status_code == 200


# --- JSON bodies -------------------------------------------------------------------------------


def _post_json(client, body: str):
    return client.post("/api/v1/engagements/", body, content_type="application/json")


def test_a_json_body_nested_five_thousand_deep_is_a_400(client, staff_a):
    client.force_login(staff_a)
    response = _post_json(client, "[" * 5000 + "]" * 5000)
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_in_json_bodies(client, staff_a, city_a, constant):
    client.force_login(staff_a)
    body = f'{{"city": {city_a.pk}, "title": {constant}, "kind": "other", "status": "planned", "start_date": "2024-01-01"}}'
    response = _post_json(client, body)
    assert response.status_code == 400
    assert not Engagement.objects.exists()


def test_a_five_thousand_digit_number_is_a_400(client, staff_a):
    client.force_login(staff_a)
    assert _post_json(client, '{"city": ' + "9" * 5000 + "}").status_code == 400
    assert _post_json(client, '{"city": 1' + "0" * 400 + ".5}").status_code == 400


def test_a_lone_surrogate_in_a_json_body_is_a_400(client, staff_a, city_a):
    client.force_login(staff_a)
    body = (
        f'{{"city": {city_a.pk}, "title": "\\ud800", "kind": "other", "status": "planned", "start_date": "2024-01-01"}}'
    )
    assert _post_json(client, body).status_code == 400


# --- health, passwords, assignees ---------------------------------------------------------------


def test_head_healthz_answers_200(client, db):
    assert client.head("/healthz").status_code == 200


def test_adduser_refuses_a_weak_password(db):
    with pytest.raises(CommandError) as error:
        call_command("adduser", "weak", "--role", "partner", "--password", "1", stdout=io.StringIO())
    assert "too short" in str(error.value)
    assert not User.objects.filter(username="weak").exists()


def test_password_change_applies_the_validators(client, staff_a):
    staff_a.set_password("old-Secret-93")
    staff_a.save()
    client.force_login(staff_a)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": "old-Secret-93", "new_password1": "1", "new_password2": "1"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]


def test_assignee_unknown_and_not_assignable_read_the_same(client, staff_a, staff_b, city_a):
    engagement = factories.EngagementFactory(city=city_a)
    client.force_login(staff_a)
    answers = []
    for assignee in (staff_b.pk, 987654321):
        response = client.post(
            "/api/v1/follow-ups/",
            {"engagement": engagement.pk, "description": "x", "assignee": assignee},
            content_type="application/json",
        )
        assert response.status_code == 400
        answers.append(response.json()["assignee"])
    assert answers[0] == answers[1]


# --- sign-in throttling -------------------------------------------------------------------------


def _sign_in(client, username, password, address="10.0.0.1", path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_sign_in_is_locked_per_account_after_five_failures_then_unlocked_after_the_cool_off(client, staff_a, settings):
    staff_a.set_password("right-Secret-93")
    staff_a.save()
    for attempt in range(5):
        _sign_in(client, "alice", "wrong", address=f"10.0.1.{attempt}")
    # Even the right password, from yet another address, is refused for now.
    assert _sign_in(client, "alice", "right-Secret-93", address="10.0.2.1").status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert _sign_in(client, "alice", "right-Secret-93", address="10.0.2.1").status_code == 302


def test_sign_in_is_locked_per_address_whatever_the_username(client, staff_a):
    for attempt in range(5):
        _sign_in(client, f"nobody{attempt}", "wrong", address="10.9.9.9")
    assert _sign_in(client, "someone-else", "wrong", address="10.9.9.9").status_code == 429
    assert _sign_in(client, "someone-else", "wrong", address="10.9.9.10").status_code == 200


def test_the_admin_sign_in_is_throttled_too(client, admin_user):
    for _ in range(5):
        _sign_in(client, "ada", "wrong", path="/admin/login/")
    assert _sign_in(client, "ada", "wrong", path="/admin/login/").status_code == 429


# --- Content-Security-Policy --------------------------------------------------------------------


def test_pages_carry_a_csp_without_inline_scripts(client, db):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe-inline" not in script_src and "unsafe-eval" not in script_src


def test_no_template_has_an_inline_script_or_handler():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    offenders = [
        str(path.relative_to(root))
        for path in root.glob("**/templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts and inline.search(path.read_text())
    ]
    assert offenders == []


# --- imports ------------------------------------------------------------------------------------

HEADER = "external_id,city,title,kind,status,start_date"
ROW = '{n},"Los Angeles, US-CA",Row {n},other,planned,2024-01-0{n}'


def test_a_nul_in_the_header_fails_the_job_at_once_with_a_clear_message(tmp_path, world):
    job = import_text(
        tmp_path,
        "nul.csv",
        f"external_id,ci\x00ty,title\n{ROW.format(n=1)}\n",
        owner=world["staff_a"],
        kind="engagements",
    )
    assert job.status == "failed" and job.attempts == 1
    assert "NUL" in job.message


def test_a_lone_surrogate_in_a_json_cell_rejects_that_row_only(tmp_path, world):
    text = (
        '[{"city": "Los Angeles, US-CA", "title": "Good", "kind": "other", "status": "planned", "start_date": "2024-01-01"},'
        ' {"city": "Los Angeles, US-CA", "title": "\\ud800", "kind": "other", "status": "planned", "start_date": "2024-01-02"}]'
    )
    job = import_text(tmp_path, "surrogate.json", text, owner=world["staff_a"], kind="engagements")
    assert (job.status, job.created, job.error_count) == ("succeeded", 1, 1)
    assert [(row, column) for row, column, _ in errors_of(job)] == [(2, "title")]


def test_a_hundred_thousand_column_header_fails_fast_with_a_clear_message(tmp_path, world):
    import time

    header = ",".join(f"c{n}" for n in range(100_000))
    started = time.monotonic()
    job = import_text(tmp_path, "wide.csv", f"{header}\n1\n", owner=world["staff_a"], kind="engagements")
    assert time.monotonic() - started < 10
    assert job.status == "failed" and "100,000 columns; the limit is 1,000" in job.message


def test_invalid_utf8_is_reported_in_its_row(tmp_path, world):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        f"{HEADER}\n{ROW.format(n=1)}\n".encode() + b'2,"Los Angeles, US-CA",Caf\xe9,other,planned,2024-01-02\n'
    )
    from tests.imports.helpers import import_file

    job = import_file(path, owner=world["staff_a"], kind="engagements")
    assert job.status == "failed" and "in row 3" in job.message


def test_json_nested_a_hundred_thousand_deep_fails_with_a_clear_message(tmp_path, world):
    job = import_text(
        tmp_path, "deep.json", "[" + "[" * 100_000 + "]" * 100_000 + "]", owner=world["staff_a"], kind="engagements"
    )
    assert job.status == "failed" and "nested too deeply" in job.message


def test_json_with_a_five_thousand_digit_number_is_a_row_error(tmp_path, world):
    text = (
        '[{"city": "Los Angeles, US-CA", "title": "Big", "kind": "other", "status": "planned", "start_date": '
        + "9" * 5000
        + "}]"
    )
    job = import_text(tmp_path, "big.json", text, owner=world["staff_a"], kind="engagements")
    assert (job.status, job.error_count) == ("succeeded", 1)


def test_json_nan_is_a_row_error_not_a_title(tmp_path, world):
    text = '[{"city": "Los Angeles, US-CA", "title": NaN, "kind": "other", "status": "planned", "start_date": "2024-01-01"}]'
    job = import_text(tmp_path, "nan.json", text, owner=world["staff_a"], kind="engagements")
    assert (job.status, job.created, job.error_count) == ("succeeded", 0, 1)
    assert [(row, column) for row, column, _ in errors_of(job)] == [(1, "title")]


def test_an_imported_out_of_range_date_is_a_row_error(tmp_path, world):
    job = import_text(
        tmp_path,
        "ancient.csv",
        f'{HEADER}\n1,"Los Angeles, US-CA",Old,other,planned,0226-05-01\n',
        owner=world["staff_a"],
        kind="engagements",
    )
    assert (job.created, job.error_count) == (0, 1)
    assert [(row, column) for row, column, _ in errors_of(job)] == [(2, "start_date")]
