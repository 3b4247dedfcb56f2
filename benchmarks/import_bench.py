"""Import speed beside PostgreSQL COPY, and the importer's peak memory.

    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python -m benchmarks.import_bench [--rows 100000]
    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python -m benchmarks.import_bench --rows 1000000 --memory-only

Needs the reference data (`manage.py seed_demo`). It writes a CSV of N engagements of Los Angeles,
imports it through the real import path (parse, validate, resolve cities and topics, upsert in
chunks, relations, history), then COPYs the same rows, already typed, into the same table, and
prints rows/s for both and their ratio. The imported and copied rows are deleted afterwards.
Peak memory is the process's maximum resident set size (ru_maxrss) after the import.

The baseline is the same rows (the same cities, dates and texts, only the external ids prefixed)
COPYed in one statement, in autocommit, into the same table with all its indexes, foreign keys
(checked at the statement's commit, inside the timed span) and rollup triggers; only the typing
of the values is done before the clock starts. The import also writes what COPY does not: the
relations, the derived counterpart countries, one history entry per record with its relations,
the seen keys and the progress. Before measuring, the rows of earlier runs are deleted and the
tables vacuumed, so a run on a reused database probes no dead index entries a fresh one would not.
"""

import argparse
import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

HEADER = [
    "external_id",
    "city",
    "title",
    "kind",
    "status",
    "start_date",
    "end_date",
    "location_city",
    "venue",
    "counterpart_cities",
    "topics",
    "visibility",
    "federal_coordination_requested",
    "summary",
]
KINDS = ["inbound_delegation", "outbound_delegation", "bilateral_meeting", "virtual_meeting", "conference"]
TOPICS = ["climate", "trade-investment", "public-health", "culture-education", "technology-innovation"]


def write_engagements_csv(
    path: Path, rows: int, *, city: str, counterparts: list[str], prefix: str = "BENCH", seed: int = 2026
) -> Path:
    """N engagements of `city` with counterparts and topics drawn from the given lists."""
    rng = random.Random(seed)
    start = dt.date(2015, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in range(1, rows + 1):
            day = start + dt.timedelta(days=rng.randrange(3650))
            counterpart = rng.choice(counterparts)
            writer.writerow(
                [
                    f"{prefix}-{number:07d}",
                    city,
                    f"Meeting {number} with {counterpart.split(',')[0]}",
                    rng.choice(KINDS),
                    "completed",
                    day.isoformat(),
                    (day + dt.timedelta(days=rng.choice([0, 1, 2]))).isoformat(),
                    counterpart,
                    "City Hall",
                    counterpart,
                    rng.choice(TOPICS),
                    rng.choice(["public", "internal"]),
                    "false",
                    "Generated for the import benchmark.",
                ]
            )
    return path


def _setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diplomacy.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def _copy_rows(path: Path, city, actor_id: int) -> tuple[int, float]:
    """COPY the file's rows, typed (resolved cities, dates), into the engagements table; returns
    (rows, seconds of the COPY alone)."""
    from django.db import connection
    from django.utils import timezone

    from cities.references import CityResolver

    resolver = CityResolver()
    now = timezone.now()
    typed = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            typed.append(
                (
                    city.pk,
                    row["title"],
                    row["summary"],
                    row["visibility"],
                    f"COPY-{row['external_id']}",
                    False,
                    actor_id,
                    now,
                    now,
                    1,
                    row["kind"],
                    row["status"],
                    dt.date.fromisoformat(row["start_date"]),
                    dt.date.fromisoformat(row["end_date"]),
                    resolver.resolve(row["location_city"]).pk,
                    row["venue"],
                    "",
                    row["federal_coordination_requested"] == "true",
                    "unreviewed",
                )
            )
    columns = (
        "city_id, title, summary, visibility, external_id, is_demo, created_by_id, created_at, updated_at, "
        "version, kind, status, start_date, end_date, location_city_id, venue, outcomes, "
        "federal_coordination_requested, review_status"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        began = time.perf_counter()
        with raw.copy(f"COPY engagements_engagement ({columns}) FROM STDIN") as copy:
            for record in typed:
                copy.write_row(record)
        seconds = time.perf_counter() - began
    return len(typed), seconds


def _clean_up(prefixes: list[str]) -> None:
    """Delete the benchmark's rows in SQL alone, so the cleanup never inflates the measured memory."""
    from django.db import connection

    tables = [
        ("engagements_engagement_counterpart_cities", "engagement_id"),
        ("engagements_engagement_counterpart_organizations", "engagement_id"),
        ("engagements_engagement_named_countries", "engagement_id"),
        ("engagements_engagement_topics", "engagement_id"),
        ("engagements_engagement_counterpart_countries", "engagement_id"),
        ("engagements_historicalengagement_counterpart_cities", "engagement_id"),
        ("engagements_historicalengagement_counterpart_organizations", "engagement_id"),
        ("engagements_historicalengagement_named_countries", "engagement_id"),
        ("engagements_historicalengagement_topics", "engagement_id"),
        ("engagements_historicalengagement", "id"),
        ("engagements_engagement", "id"),
    ]
    with connection.cursor() as cursor:
        for prefix in prefixes:
            chosen = "SELECT id FROM engagements_engagement WHERE external_id LIKE %s"
            for table, column in tables:
                # Table and column names come from the fixed list above, never from input.
                cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({chosen})", [f"{prefix}-%"])  # noqa: S608


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE engagements_engagement")
        cursor.execute("VACUUM ANALYZE engagements_historicalengagement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory-only", action="store_true", help="Import only, and report the peak memory.")
    parser.add_argument("--keep", action="store_true", help="Leave the imported rows in the database.")
    options = parser.parse_args()
    _setup_django()

    from django.conf import settings
    from django.core.files import File

    from accounts.models import User
    from cities.models import City
    from imports.services import create_job, run_job

    actor = User.objects.filter(is_superuser=True).order_by("pk").first()
    home = City.objects.get(search_name="los angeles", subdivision="US-CA")
    counterparts = [
        f"{c.name}, {c.country_id}"
        for c in City.objects.exclude(country_id="US").filter(population__gte=2_000_000).order_by("-population")[:200]
    ]
    counterparts = [ref for ref in counterparts if _resolves(ref)]
    with tempfile.TemporaryDirectory() as folder:
        path = write_engagements_csv(
            Path(folder) / "engagements.csv", options.rows, city="Los Angeles, US-CA", counterparts=counterparts
        )
        size = path.stat().st_size
        print(f"{options.rows:,} rows, {size / 2**20:.1f} MB CSV, {len(counterparts)} distinct counterpart cities")
        _clean_up(["BENCH", "COPY"])
        _vacuum()
        # The benchmark measures rows, not the upload limit: a million rows are over 200 MB.
        settings.IMPORT_MAX_FILE_BYTES = max(settings.IMPORT_MAX_FILE_BYTES, size)
        with path.open("rb") as handle:
            job = create_job(owner=actor, upload=File(handle, name=path.name), kind="engagements", enqueue=False)
        began = time.perf_counter()
        job = run_job(job.pk)
        seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"import: {job.status}, created {job.created:,}, errors {job.error_count:,} in {seconds:.1f} s "
            f"= {job.created / seconds:,.0f} rows/s; peak RSS {peak:,.0f} MB"
        )
        if not options.memory_only:
            rows, copy_seconds = _copy_rows(path, home, actor.pk)
            print(f"COPY:   {rows:,} rows in {copy_seconds:.2f} s = {rows / copy_seconds:,.0f} rows/s")
            print(f"import / COPY = {(job.created / seconds) / (rows / copy_seconds):.3f}")
        job.file.delete(save=False)
        if not options.keep:
            _clean_up(["BENCH", "COPY"])


def _resolves(reference: str) -> bool:
    from cities.references import CityReferenceError, resolve_city

    try:
        resolve_city(reference)
    except CityReferenceError:
        return False
    return True


if __name__ == "__main__":
    main()
