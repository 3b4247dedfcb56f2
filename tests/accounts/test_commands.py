"""adduser and issuetoken: what administrators and scripts rely on."""

import io
import os

import pytest
from django.core.management import CommandError, call_command
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_adduser_creates_staff_with_home_cities_and_updates_them(city_a, city_b):
    run("adduser", "carol", "--role", "staff", "--city", "Los Angeles, US-CA", "--password", "pw-12345678")
    carol = User.objects.get(username="carol")
    assert carol.role == "staff" and list(carol.home_cities.all()) == [city_a]
    assert carol.check_password("pw-12345678")
    run("adduser", "carol", "--role", "staff", "--city", str(city_b.geonames_id))
    assert list(carol.home_cities.all()) == [city_b]
    assert User.objects.get(username="carol").check_password("pw-12345678")


def test_adduser_gives_liaisons_a_portfolio_and_admins_superuser():
    run("adduser", "lee", "--role", "liaison", "--portfolio", "us-ca", "--portfolio", "US-NY")
    lee = User.objects.get(username="lee")
    assert list(lee.portfolio_states.values_list("subdivision", flat=True)) == ["US-CA", "US-NY"]
    run("adduser", "lee", "--role", "liaison", "--portfolio", "all")
    lee.refresh_from_db()
    assert lee.portfolio_all and not lee.portfolio_states.exists()
    run("adduser", "root2", "--role", "admin", "--email", "root@example.org")
    assert User.objects.get(username="root2").is_superuser


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--role", "staff", "--city", "Atlantis, US"], "No city matches"),
        (["--role", "liaison", "--portfolio", "California"], "Not a US state code"),
        (["--role", "partner", "--city", "Los Angeles, US-CA"], "Only staff users have home cities"),
    ],
)
def test_adduser_rejects_bad_input_with_a_reason_and_writes_nothing(city_a, args, reason):
    with pytest.raises(CommandError, match=reason):
        run("adduser", "dave", *args)
    assert not User.objects.filter(username="dave").exists()


def test_adduser_rejects_an_unknown_role():
    with pytest.raises(CommandError):
        run("adduser", "dave", "--role", "emperor")


def test_issuetoken_prints_a_working_token_alone_on_the_last_line():
    partner = factories.UserFactory(role="partner")
    token = run("issuetoken", partner.username).strip().splitlines()[-1]
    assert len(token) >= 32 and " " not in token
    user, _ = TokenAuthentication().authenticate_credentials(token.encode())
    assert user == partner
    # Only a digest is stored: the key itself is nowhere in the database.
    assert not AuthToken.objects.filter(digest=token).exists()
    with pytest.raises(AuthenticationFailed):
        TokenAuthentication().authenticate_credentials(b"not-a-real-token")


def test_issuetoken_refuses_unknown_users():
    with pytest.raises(CommandError, match="No active user"):
        run("issuetoken", "nobody")


def test_commands_exit_non_zero_with_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "adduser", "dave", "--role", "staff", "--portfolio", "US-CA"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "diplomacy.settings_test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        },
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["CommandError: Only liaisons have a portfolio (--portfolio)."]
