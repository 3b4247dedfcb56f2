"""SPEC §8.5: after the README's run command, the README's `manage.py` commands work as typed.

Each line of the README's "Commands" section is run as written, in this checkout, with only its
placeholders filled in (NAME, P, FILE.csv; `[--dry-run]` both without and with it) and the
checkout's `.env` replaced, through ENV_FILE, by one like `make run` writes (`DEBUG=1`, a key of
its own) that points at the test database."""

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
# What the commands would otherwise read from the test run's environment instead of the .env file.
NOT_INHERITED = {"DATABASE_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "CACHE_URL", "ENV_FILE"}
PASSWORD = "Harbour-Lantern-4821"
FILE = (
    "external_id,city,title,kind,status,start_date\n"
    'README-1,"Los Angeles, US-CA",Harbour visit,inbound_delegation,completed,2026-03-01\n'
)


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Commands", 1)[1].split("\n## ", 1)[0]
    return [
        line.strip().split("  #", 1)[0].strip()
        for line in section.splitlines()
        if line.startswith("    python manage.py ")
    ]


def fill_in(command: str, names: dict[str, str], csv_file: Path) -> list[str]:
    """The command with its placeholders filled in; `[--dry-run]` gives two commands."""
    role = re.search(r"--role (\w+)", command)
    name = names[role[1]] if role else names["staff"]
    command = re.sub(r"\bNAME\b", name, command)
    command = re.sub(r"--password P\b", f"--password {PASSWORD}", command)
    command = command.replace("FILE.csv", str(csv_file))
    if "[--dry-run]" in command:
        return [command.replace(" [--dry-run]", " --dry-run"), command.replace(" [--dry-run]", "")]
    return [command]


def test_every_command_of_the_readme_exits_zero_as_typed(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the README's commands run against PostgreSQL")
    commands = readme_commands()
    assert len(commands) >= 5, commands
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"DATABASE_URL=postgres://{database['USER'] or 'postgres'}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}\n"
    )
    csv_file = tmp_path / "visits.csv"
    csv_file.write_text(FILE)
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env["ENV_FILE"] = str(env_file)
    # `. .venv/bin/activate` puts this interpreter first on PATH as `python`.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    names = {"staff": "readme.staff", "liaison": "readme.liaison"}
    ran = []
    for typed in commands:
        for command in fill_in(typed, names, csv_file):
            result = subprocess.run(  # noqa: S603 - the README's own commands
                shlex.split(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            ran.append((command, result.stdout))
    outputs = dict(ran)
    token = next(output for command, output in ran if " issuetoken " in command).strip().splitlines()[-1]
    assert len(token) >= 20, token
    report = next(output for command, output in ran if " importfile " in command and "--dry-run" not in command)
    assert '"created": 1' in report.strip().splitlines()[-1] or '"created":1' in report, report[-500:]
    assert len(outputs) == len(ran)
