"""SPEC §8.5, rehearsed: two web processes and two Celery workers, each in a folder of its own,
sharing only PostgreSQL, Redis and an S3 server. An import uploaded through web A is run by one of
the workers and read back through web B, and the partner limit holds across both web processes."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from accounts.services import issue_token
from engagements.models import Engagement
from tests import factories
from tests.celery_worker import live_worker  # noqa: F401 - the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "scale-out-uploads"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}
LIMIT = 30
SENT = 90
FILE = (
    "external_id,city,title,kind,status,start_date\n"
    'OUT-1,"Los Angeles, US-CA",Harbour visit,inbound_delegation,completed,2026-03-01\n'
    'OUT-2,"Los Angeles, US-CA",Port forum,conference,completed,2026-03-02\n'
    'OUT-3,"Los Angeles, US-CA",Trade mission,outbound_delegation,completed,2026-03-03\n'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(condition, *, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.")


class Web:
    """One gunicorn web process (gthread workers, as in production) in a folder of its own."""

    def __init__(self, name: str, folder: Path, env: dict):
        self.name, self.folder, self.port = name, folder, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (folder / "media").mkdir(parents=True)
        self.log = (folder / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - the test's own fixed command
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "diplomacy.wsgi",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "30",
            ],
            cwd=folder,
            env={**env, "TEST_MEDIA_ROOT": str(folder / "media")},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 45) -> None:
        def answers():
            assert self.process.poll() is None, f"web {self.name} exited:\n{self.output()}"
            try:
                return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        _wait_until(answers, timeout=timeout, what=f"web {self.name} to answer /healthz")

    def output(self) -> str:
        return (self.folder / "gunicorn.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_two_webs_and_two_workers_share_only_the_database_redis_and_object_storage(
    live_worker,  # noqa: F811 - the fixture imported above
    s3_endpoint,
    city_a,
    staff_a,
    tmp_path,
    monkeypatch,  # noqa: F811
):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    storage_url = f"s3://{BUCKET}/uploads?endpoint_url={s3_endpoint}&region_name=us-east-1"
    shared = {
        **live_worker.env,
        **CREDENTIALS,
        "STORAGE_URL": storage_url,
        # One cache (throttle counters) for both web processes, apart from other test runs.
        "CACHE_KEY_PREFIX": f"scale-out-{uuid.uuid4().hex}",
        "PARTNER_THROTTLE_RATE": f"{LIMIT}/min",
    }
    # Two workers, each in its own folder, consuming the test's queue.
    live_worker.stop_all()
    live_worker.env = shared
    worker_dirs = []
    for number in (1, 2):
        folder = tmp_path / f"worker-{number}"
        (folder / "media").mkdir(parents=True)
        worker_dirs.append(folder)
        live_worker.env = {**shared, "TEST_MEDIA_ROOT": str(folder / "media")}
        live_worker.cwd = folder
        live_worker.start()
    web_env = {
        **shared,
        # Production settings served over plain HTTP on localhost (the TLS proxy is not here).
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "0",
    }
    webs = []
    try:
        for name in ("A", "B"):
            webs.append(Web(name, tmp_path / f"web-{name.lower()}", web_env))
        for web in webs:
            web.wait_ready()
        web_a, web_b = webs

        # An import uploaded through web A...
        token = issue_token(user=staff_a)
        headers = {"Authorization": f"Token {token}"}
        created = requests.post(
            f"{web_a.base}/api/v1/imports/",
            headers=headers,
            data={"kind": "engagements"},
            files={"file": ("visits.csv", FILE.encode(), "text/csv")},
            timeout=30,
        )
        assert created.status_code == 201, f"{created.status_code} {created.text[:500]}\n{web_a.output()}"
        job_id = created.json()["id"]

        # ...run by one of the workers, and read back through web B.
        def finished():
            response = requests.get(f"{web_b.base}/api/v1/imports/{job_id}/", headers=headers, timeout=10)
            assert response.status_code == 200, response.text[:500]
            body = response.json()
            return body if body["status"] in ("succeeded", "failed") else None

        try:
            job = _wait_until(finished, timeout=90, what="a worker to run the import uploaded through web A")
        except AssertionError as error:
            raise AssertionError(f"{error}\nWorkers:\n{live_worker.log()}") from None
        assert (job["status"], job["created"], job["error_count"]) == ("succeeded", 3, 0), job
        assert set(Engagement.objects.values_list("external_id", flat=True)) == {"OUT-1", "OUT-2", "OUT-3"}
        listed = requests.get(
            f"{web_b.base}/api/v1/engagements/", headers=headers, params={"page_size": 10}, timeout=10
        ).json()
        assert {row["external_id"] for row in listed["results"]} == {"OUT-1", "OUT-2", "OUT-3"}
        # The upload is in the object store, and no folder of any process holds a copy.
        stored = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        assert len(stored) == 1 and stored[0].startswith("uploads/"), stored
        folders = [web.folder / "media" for web in webs] + [folder / "media" for folder in worker_dirs]
        assert [path for folder in folders for path in folder.rglob("*") if path.is_file()] == []
        ran = [
            log for log in live_worker.log_dir.glob("worker-*.log") if "succeeded in" in log.read_text(errors="replace")
        ]
        assert len(ran) >= 1, live_worker.log()

        # The partner limit is counted once for both web processes (Redis), within 10%.
        partner = issue_token(user=factories.UserFactory(username="pat-scale-out", role="partner"))
        statuses = []
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {partner}"
            for number in range(SENT):
                web = webs[number % 2]
                statuses.append(session.get(f"{web.base}/api/v1/topics/", timeout=10).status_code)
        allowed = statuses.count(200)
        assert set(statuses) <= {200, 429}, set(statuses)
        assert LIMIT * 0.9 <= allowed <= LIMIT * 1.1, f"{allowed} of {SENT} let through a limit of {LIMIT}"
        assert statuses[-1] == 429
    finally:
        for web in webs:
            web.stop()
