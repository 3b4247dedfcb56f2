"""CSV export speed and memory: a whole list streamed through the WSGI app, as a client reads it.

    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python -m benchmarks.export_bench [--path api]
    .venv/bin/python -m benchmarks.export_bench --engagements 100000     # builds or reuses dip_bench_100000

`--path` is `api` (`/api/v1/engagements/?format=csv`, the partners' export), `agreements`
(`/api/v1/agreements/?format=csv`), `html` (the engagement list page's CSV link),
`html-agreements` (the agreement list page's) or `imports` (the import-format export of
engagements). The request goes through Django's WSGI handler (the test client, with an
administrator signed in, who sees every row); the clock runs from the request to the last byte.
Peak memory is the process's maximum resident set size (ru_maxrss), read before and after: flat
memory means the peak barely moves with the number of rows. On PostgreSQL the lists are written
by the database (COPY): the database backend's CPU time is printed too, and the rows per second
the busier of the two processes would give with a core to itself, since a shared machine's load
(printed) slows the wall clock.
"""

import argparse
import os
import resource
import sys
import time

PATHS = {
    "api": "/api/v1/engagements/?format=csv",
    "agreements": "/api/v1/agreements/?format=csv",
    "html": "/engagements/?format=csv",
    "html-agreements": "/agreements/?format=csv",
    "imports": "/imports/export/engagements.csv",
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of the PostgreSQL backend `pid`, when it runs on this machine
    (/proc): how much work the export cost the database, whatever else shares the cores."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", choices=sorted(PATHS), default="api")
    parser.add_argument(
        "--engagements", type=int, help="build (or reuse) the bench database of this size instead of DATABASE_URL"
    )
    options = parser.parse_args()
    if options.engagements:
        from benchmarks import database

        os.environ["DATABASE_URL"] = database.ensure(
            options.engagements, rebuild=False, log=lambda message: print(message, file=sys.stderr)
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diplomacy.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from engagements.models import Agreement, Engagement

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As served in production: with DEBUG on, Django keeps the text of the last 9,000 queries
    # (each chunk's relation read names its 2,000 ids), which is not the export's memory.
    settings.DEBUG = False
    admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        sys.exit("No active administrator in this database: run `manage.py seed_demo` first.")
    model = Agreement if "agreements" in options.path else Engagement
    total = model.objects.count()
    client = APIClient()
    client.force_login(admin)
    client.get("/healthz")  # import the app's modules before measuring
    from django.db import connection

    with connection.cursor() as cursor:
        # The export runs on this connection (COPY), or mostly (the Python path's relations
        # are read on a second one): its backend's CPU is the database's share of the work.
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT NULL")
        (backend,) = cursor.fetchone()
    server_before = server_cpu_seconds(backend) if backend else None
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(PATHS[options.path])
    if response.status_code != 200:
        sys.exit(f"{PATHS[options.path]} answered {response.status_code}: {response.content[:500]!r}")
    size = newlines = 0
    first_byte = None
    for chunk in response.streaming_content if response.streaming else [response.content]:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        newlines += chunk.count(b"\n")
    response.close()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = rss_mb()
    server_after = server_cpu_seconds(backend) if backend else None
    load = os.getloadavg()
    print(f"path: {PATHS[options.path]} ({'streamed' if response.streaming else 'whole'})")
    print(f"rows: {total:,} records, {newlines - 1:,} lines after the header, {size / 1e6:,.1f} MB")
    print(f"time: {elapsed:.2f} s, first byte after {first_byte or 0:.3f} s; this process's CPU {cpu:.2f} s")
    print(f"export: {total:,} rows / {elapsed:.2f} s = {total / elapsed:,.0f} rows/s")
    print(f"peak RSS {peak:,.0f} MB (before the export {before:,.0f} MB, +{peak - before:,.0f} MB)")
    if server_before is not None and server_after is not None:
        server = server_after - server_before
        busiest = max(server, cpu)
        print(
            f"database CPU {server:.2f} s; by the busier process, {total / busiest:,.0f} rows/s "
            "on a machine with a core free for each"
        )
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
