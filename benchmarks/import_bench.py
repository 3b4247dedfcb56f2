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


# The tables the import writes for each record, besides the engagement table: (table, its
# columns other than the id and the record's); the history keeps its own relation tables.
RELATION_TABLES = [
    ("engagements_engagement_counterpart_cities", "city_id"),
    ("engagements_engagement_counterpart_organizations", "organization_id"),
    ("engagements_engagement_named_countries", "country_id"),
    ("engagements_engagement_topics", "topic_id"),
    ("engagements_engagement_counterpart_countries", "country_id"),
]


def _floor(prefix: str, floor: str) -> tuple[int, float]:
    """The physical floor of the import: the rows it wrote (external ids `prefix-...`) written
    again by SQL alone, with no Python between the statements' rows, into every table the import
    writes for a record (the engagement with its indexes, triggers and rollups; its relations;
    its history entry and the history's relations), in chunks of the import's size, each chunk
    committed. Returns (rows, seconds)."""
    from django.db import connection, transaction

    from engagements.models import Engagement
    from imports.services import CHUNK_ROWS

    columns = [field.column for field in Engagement._meta.concrete_fields if field.column not in ("id", "external_id")]
    # The filter arrays too, written with the record as the import writes them (engagements/bulk.py).
    columns += ["topic_slugs", "counterpart_country_codes"]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM engagements_engagement WHERE external_id LIKE %s ORDER BY id", [f"{prefix}-%"])
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'engagements_historicalengagement'"
        )
        history_columns = [row[0] for row in cursor.fetchall()]
    history_rest = [c for c in history_columns if c not in ("history_id", "id", "external_id", "history_date")]
    began = time.perf_counter()
    steps: dict[str, float] = {}

    def timed(cursor, step: str, sql: str, params=None) -> None:
        moment = time.perf_counter()
        cursor.execute(sql, params)
        steps[step] = steps.get(step, 0.0) + time.perf_counter() - moment

    for start in range(0, len(ids), CHUNK_ROWS):
        chunk = "{" + ",".join(map(str, ids[start : start + CHUNK_ROWS])) + "}"
        with transaction.atomic(), connection.cursor() as cursor:
            # Sources and their copies paired by external id, in one temporary table per chunk.
            timed(
                cursor,
                "engagements",
                f"""
                CREATE TEMPORARY TABLE floor_pairs ON COMMIT DROP AS
                WITH copied AS (
                    INSERT INTO engagements_engagement ({listed}, external_id)
                    SELECT {listed}, %s || substr(external_id, %s) FROM engagements_engagement
                    WHERE id = ANY(%s::bigint[])
                    RETURNING id, external_id
                )
                SELECT s.id AS source, c.id AS copy FROM copied AS c
                JOIN engagements_engagement AS s ON s.external_id = %s || substr(c.external_id, %s)
                """,  # noqa: S608 - fixed column names
                [floor, len(prefix) + 1, chunk, prefix, len(floor) + 1],
            )
            # The planner knows nothing of a temporary table until it is analysed.
            timed(cursor, "engagements", "ANALYZE floor_pairs")
            for table, column in RELATION_TABLES:
                timed(
                    cursor,
                    table,
                    f"INSERT INTO {table} (engagement_id, {column}) SELECT p.copy, t.{column} "  # noqa: S608
                    f"FROM floor_pairs AS p JOIN {table} AS t ON t.engagement_id = p.source",
                )
            # The history entries, and each source entry paired with its copy's.
            timed(
                cursor,
                "history",
                f"""
                CREATE TEMPORARY TABLE floor_history ON COMMIT DROP AS
                WITH copied AS (
                    INSERT INTO engagements_historicalengagement (id, external_id, history_date, {", ".join(history_rest)})
                    SELECT p.copy, %s || substr(h.external_id, %s), now(), {", ".join("h." + c for c in history_rest)}
                    FROM floor_pairs AS p JOIN engagements_historicalengagement AS h ON h.id = p.source
                    RETURNING history_id, id
                )
                SELECT o.history_id AS source, c.history_id AS copy, c.id AS record
                FROM copied AS c JOIN floor_pairs AS p ON p.copy = c.id
                JOIN engagements_historicalengagement AS o ON o.id = p.source
                """,  # noqa: S608 - fixed column names
                [floor, len(prefix) + 1],
            )
            timed(cursor, "history", "ANALYZE floor_history")
            for table, column in RELATION_TABLES[:4]:
                history = table.replace("engagements_engagement_", "engagements_historicalengagement_")
                timed(
                    cursor,
                    history,
                    f"INSERT INTO {history} (id, history_id, engagement_id, {column}) "  # noqa: S608
                    f"SELECT t.id, f.copy, f.record, t.{column} FROM floor_history AS f "
                    f"JOIN {history} AS t ON t.history_id = f.source",
                )
    seconds = time.perf_counter() - began
    print("floor steps: " + ", ".join(f"{step} {spent:.2f} s" for step, spent in steps.items()))
    return len(ids), seconds


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


# Every table an import or the floor writes (and the cleanup deletes from): the many-to-many
# tables left unvacuumed kept a reused database's dead index entries (600,000 per relation after
# a few runs) in the way of every later run.
WRITTEN_TABLES = (
    "engagements_engagement",
    "engagements_engagement_counterpart_cities",
    "engagements_engagement_counterpart_organizations",
    "engagements_engagement_named_countries",
    "engagements_engagement_topics",
    "engagements_engagement_counterpart_countries",
    "engagements_historicalengagement",
    "engagements_historicalengagement_counterpart_cities",
    "engagements_historicalengagement_counterpart_organizations",
    "engagements_historicalengagement_named_countries",
    "engagements_historicalengagement_topics",
    "imports_importseenkey",
    "rollups_engagementcount",
    "rollups_engagementtally",
    "rollups_cityengagementtally",
    "rollups_engagementpairtally",
)


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # Table names come from the fixed list above.
        cursor.execute(f"VACUUM ANALYZE {', '.join(WRITTEN_TABLES)}")


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
        _clean_up(["BENCH", "COPY", "FLOOR"])
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
            floor_rows, floor_seconds = _floor("BENCH", "FLOOR")
            print(
                f"floor:  {floor_rows:,} rows in {floor_seconds:.2f} s = {floor_rows / floor_seconds:,.0f} rows/s "
                "(SQL alone into every table the import writes)"
            )
            print(f"import / floor = {(job.created / seconds) / (floor_rows / floor_seconds):.3f}")
        job.file.delete(save=False)
        if not options.keep:
            _clean_up(["BENCH", "COPY", "FLOOR"])


def _resolves(reference: str) -> bool:
    from cities.references import CityReferenceError, resolve_city

    try:
        resolve_city(reference)
    except CityReferenceError:
        return False
    return True


if __name__ == "__main__":
    main()
