# ruff: noqa: S603, S607 - the benchmark runs its own fixed commands (manage.py, gunicorn, wrk, apt-get)
"""The benchmark's own PostgreSQL databases, built once and reused.

`dip_bench_ref` holds the migrated schema and the reference and demo data (`seed_demo`); each
scale database (`dip_bench_<engagements>`; `BENCH_DB_PREFIX` replaces `dip_bench`) is a copy of
it (CREATE DATABASE ... TEMPLATE, seconds rather than minutes) plus `seed_scale`. A database's
comment records what it holds, so a later run reuses it only when it is complete and of the right
size. Migrations added since are applied on reuse.
"""

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# Several checkouts may share one server: `BENCH_DB_PREFIX` names their databases apart.
PREFIX = os.environ.get("BENCH_DB_PREFIX", "dip_bench")
REFERENCE = f"{PREFIX}_ref"
SEED = 2026


def url(name: str) -> str:
    return f"{SERVER}/{name}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(url("postgres"), autocommit=True)


def _comment(name: str) -> str | None:
    with _admin() as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return None if row is None else (row[0] or "")


def _execute(sql: str) -> None:
    with _admin() as connection:
        connection.execute(sql)


def _manage(name: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url(name), "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "diplomacy.settings"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


_rebuilt: set[str] = set()


def _reference(log: Callable[[str], None], rebuild: bool) -> None:
    # A rebuild builds the reference once per run, not once per scale database.
    if (not rebuild or REFERENCE in _rebuilt) and _comment(REFERENCE) == "reference":
        return
    _rebuilt.add(REFERENCE)
    log(f"building {REFERENCE}: migrate and seed_demo")
    _execute(f"DROP DATABASE IF EXISTS {REFERENCE} WITH (FORCE)")
    _execute(f"CREATE DATABASE {REFERENCE}")
    _manage(REFERENCE, "migrate", "--no-input", "-v0")
    _manage(REFERENCE, "seed_demo")
    _execute(f"COMMENT ON DATABASE {REFERENCE} IS 'reference'")


def ensure(engagements: int, *, rebuild: bool, log: Callable[[str], None]) -> str:
    """The URL of a database with the reference data and `engagements` generated engagements
    (and a tenth as many agreements)."""
    name = f"{PREFIX}_{engagements}"
    marker = f"engagements={engagements} seed={SEED}"
    if not rebuild and _comment(name) == marker:
        _manage(name, "migrate", "--no-input", "-v0")
        return url(name)
    _reference(log, rebuild)
    log(f"building {name}: a copy of {REFERENCE} and seed_scale --engagements {engagements}")
    _execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _execute(f"CREATE DATABASE {name} TEMPLATE {REFERENCE}")
    _manage(name, "migrate", "--no-input", "-v0")
    # No VACUUM or ANALYZE here: seed_scale leaves the planner's statistics fresh itself (SPEC
    # §8.5), and the figures are those of a database as the product's own bulk load leaves it.
    _manage(name, "seed_scale", "--engagements", str(engagements), "--seed", str(SEED))
    _execute(f"COMMENT ON DATABASE {name} IS '{marker}'")
    return url(name)


@contextlib.contextmanager
def scratch_copy(source_url: str) -> Iterator[str]:
    """The URL of a copy of the database at `source_url`, dropped afterwards: what writes (an
    import, a scan) leaves behind stays out of the next run. The import's insert-then-delete of
    300,000 rows per run had bloated the reused small database to 530 MB, and each run was
    slower than the last."""
    source = source_url.rsplit("/", 1)[1]
    name = f"{source}_scratch"
    try:
        _execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        # A file copy: the default strategy writes every block to the WAL as well.
        _execute(f"CREATE DATABASE {name} TEMPLATE {source} STRATEGY FILE_COPY")
    except psycopg.Error as error:
        # Reported as the figure's error; the run goes on to the next figure.
        raise RuntimeError(f"no scratch copy of {source}: {error}") from error
    try:
        yield url(name)
    finally:
        with contextlib.suppress(psycopg.Error):
            _execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def checkpoint(log: Callable[[str], None]) -> None:
    """Write out what a build left in shared buffers now, rather than during the measurements:
    right after a million-row `seed_scale` the checkpointer is still spreading those writes over
    the next minutes, beside the first figures."""
    try:
        _execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        log("CHECKPOINT needs a superuser or pg_checkpoint: the figures may include a build's writes")
