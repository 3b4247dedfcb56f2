"""A real Celery worker for tests: a subprocess running `celery -A diplomacy worker` against Redis
and the PostgreSQL test database, which a test can SIGKILL and replace.

Use it from any test folder: import the fixture into that folder's conftest.py,

    from tests.celery_worker import live_worker  # noqa: F401

then in a test:

    @pytest.mark.postgres
    @pytest.mark.worker
    def test_something(live_worker):
        ...                       # tasks enqueued now go to Redis and run in the worker
        live_worker.kill()        # SIGKILL the worker and its pool children, mid-task
        live_worker.start()       # a fresh worker
        live_worker.wait_until(lambda: ..., timeout=60)

Redis: TEST_REDIS_URL, default `redis://127.0.0.1:6379/10`. Each fixture sends its tasks to a queue
of its own (`live_worker.queue`), which only its workers consume, so test sessions or xdist workers
sharing that Redis database never take each other's tasks.
Without Redis or PostgreSQL the test is skipped locally with the reason; under CI=true it fails.
The worker sees the test's MEDIA_ROOT and writes mail as files under `live_worker.mail_dir`.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from kombu import pools

from diplomacy.celery import app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
BASE_DIR = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}; the live Celery worker test did not run")


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return (
        f"postgres://{params.get('USER') or 'postgres'}{password}@{params.get('HOST') or '127.0.0.1'}:"
        f"{params.get('PORT') or 5432}/{params['NAME']}"
    )


class LiveWorker:
    """The worker processes of one test; `start` adds one, `kill` SIGKILLs the newest."""

    def __init__(self, env: dict[str, str], log_dir: Path, queue: str):
        self.env = env
        # The folder workers start in; any folder works, the project is on PYTHONPATH.
        self.cwd = BASE_DIR
        self.queue = queue
        self.log_dir = log_dir
        self.mail_dir = Path(env["TEST_EMAIL_DIR"])
        self.processes: list[tuple[subprocess.Popen, str]] = []

    def start(self, timeout: float = 60) -> str:
        name = f"live-{uuid.uuid4().hex[:8]}@%h"
        log = (self.log_dir / f"worker-{len(self.processes) + 1}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "diplomacy",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier=1",
                "-Q",
                self.queue,
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((process, name))
        hostname = name.replace("%h", os.uname().nodename)
        self.wait_until(
            lambda: process.poll() is None and app.control.ping(destination=[hostname], timeout=0.5),
            timeout=timeout,
            what=f"worker {hostname} to answer a ping",
        )
        return hostname

    def kill(self) -> None:
        """SIGKILL the newest worker and its pool children at once, as a machine dying would."""
        process, _ = self.processes[-1]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-4000:] for path in sorted(self.log_dir.glob("worker-*.log")))

    def wait_until(self, condition, *, timeout: float, what: str = "the condition", interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}.\nWorker log:\n{self.log()}")


def _use_broker(url: str | None, *, eager: bool, transport_options: dict, queue: str) -> None:
    """Point this process's Celery app at another broker, dropping its cached connections."""
    # kombu keeps pools in a process-wide registry keyed by connection: clear it, not only ours.
    pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
        # The queues and the router are cached from the configuration on first use.
        for cached in ("default_queue", "queues", "router"):
            app.amqp.__dict__.pop(cached, None)
    if url is not None:
        app.conf.broker_url = url
        app.conf.broker_write_url = url
        app.conf.broker_read_url = url
    app.conf.broker_transport_options = transport_options
    app.conf.task_always_eager = eager
    app.conf.task_default_queue = queue


@pytest.fixture
def live_worker(transactional_db, settings, tmp_path):
    if connection.vendor != "postgresql":
        _unavailable("the live worker needs PostgreSQL (set DATABASE_URL=postgres://...)")
    if not _redis_answers(REDIS_URL):
        _unavailable(f"Redis does not answer at {REDIS_URL} (set TEST_REDIS_URL or start redis-server)")
    import redis

    queue = f"live-worker-{uuid.uuid4().hex[:12]}"
    settings.MEDIA_ROOT = Path(settings.MEDIA_ROOT)
    mail_dir = tmp_path / "worker-mail"
    mail_dir.mkdir()
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.celery_worker_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "TEST_EMAIL_DIR": str(mail_dir),
        # Tasks the worker enqueues itself (a sweep re-enqueuing a job) stay on this queue too.
        "TEST_CELERY_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH")])),
    }
    saved = (
        app.conf.broker_url,
        app.conf.broker_transport_options,
        app.conf.task_always_eager,
        app.conf.task_default_queue,
    )
    _use_broker(REDIS_URL, eager=False, transport_options={"visibility_timeout": 3600}, queue=queue)
    workers = LiveWorker(env, log_dir, queue)
    try:
        workers.start()
        yield workers
    finally:
        workers.stop_all()
        _use_broker(saved[0], eager=saved[2], transport_options=saved[1], queue=saved[3])
        redis.Redis.from_url(REDIS_URL).delete(queue)
