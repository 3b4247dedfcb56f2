"""SPEC §8.5: throttle counters live in Redis when REDIS_URL is set, so the partner limit holds
across gunicorn workers (each of them used to count alone: three workers let three times through)."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

from accounts.services import issue_token
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 60
SENT = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Connection": "close"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL=redis://...")
def test_partner_limit_holds_within_ten_percent_across_three_gunicorn_workers():
    token = issue_token(user=factories.UserFactory(username="pat-throttle", role="partner"))
    database = connection.settings_dict
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "diplomacy.settings_test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": os.environ["TEST_REDIS_URL"],
        "CACHE_KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        "TEST_PARTNER_THROTTLE_RATE": f"{LIMIT}/min",
        "CONN_MAX_AGE": "0",
    }
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "diplomacy.wsgi",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/topics/"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        statuses = [_get(url, token) for _ in range(SENT)]
    finally:
        server.terminate()
        server.wait(timeout=20)
    allowed = statuses.count(200)
    assert set(statuses) <= {200, 429}, set(statuses)
    assert LIMIT * 0.9 <= allowed <= LIMIT * 1.1, f"{allowed} of {SENT} let through a limit of {LIMIT}"
