# ruff: noqa: S603, S607 - the benchmark runs its own fixed commands (manage.py, gunicorn, wrk, apt-get)
"""`make bench`: the national-scale figures beside their baselines, measured in the same run.

    .venv/bin/python -m benchmarks [--engagements 1000000] [--small 10000] [--full-import] [--skip-import]

Builds the scale data once into its own PostgreSQL databases (reference data, then `seed_scale`;
reused while they hold the right number of engagements), serves the app as in production
(gunicorn, 2 sync workers, DEBUG=0, persistent connections) with the benchmark URLconf that adds
a bare raw-SQL view, drives it with wrk, and prints a table of figure, value, baseline, ratio and
target; bench/results/latest.json holds the same and the raw measurements.

The machine may be shared: absolute numbers are noisy, ratios measured in the same run are not.
"""

import argparse
import datetime as dt
import functools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import database

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results"
BENCH_USER = "bench-liaison"
SELECTIVE = "counterpart_country=DE&topic=climate"
# The combined filter (country and topic) on the engagement list page, in-process.
COMBINED_PAGE = f"/engagements/?{SELECTIVE}"
DEEP_PAGE = 1000
# What the API must reach beside the bare view of the same rows (issue #18).
RATIO_TARGETS = {"first page": 0.45, "selective filter": 0.5, f"deep page {DEEP_PAGE}": 0.7}
# The cheapest API list there is (one topic, token checked, counted, serialized): what any API
# request costs before it reads a single engagement, beside the same bare view.
FLOOR = "floor: one-topic list"


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)  # noqa: DTZ005 - a local clock for the reader


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing it from Debian")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed; install it (apt-get install wrk) and run again.")
    return found


def django_env(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "CONN_MAX_AGE": "600",
        "PYTHONPATH": str(ROOT),
    }


def manage(url: str, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=django_env(url), capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def bench_token(url: str) -> str:
    manage(url, "adduser", BENCH_USER, "--role", "liaison", "--portfolio", "all")
    return manage(url, "issuetoken", BENCH_USER).strip().splitlines()[-1]


def probe(url: str, token: str, api_urls: list[str], typeahead: int, page_urls: list[str] = ()) -> dict:
    command = [PYTHON, "-m", "benchmarks.probe", "--user", BENCH_USER, "--token", token, "--typeahead", str(typeahead)]
    for api_url in api_urls:
        command += ["--api-url", api_url]
    for page_url in page_urls:
        command += ["--page-url", page_url]
    result = subprocess.run(command, cwd=ROOT, env=django_env(url), capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"probe failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


class Server:
    """gunicorn as in production: 2 sync workers, DEBUG=0, persistent database connections."""

    def __init__(self, url: str):
        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.1", 0))
            self.port = probe_socket.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "diplomacy.wsgi",
                "--workers",
                "2",
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=django_env(url),
        )

    def __enter__(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:  # noqa: S310 - our server
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def settle(self, *, quick_ms: float = 50, timeout: float = 30) -> None:
        """Wait until the requests a finished wrk run left behind are served: wrk stops on time,
        but its last requests are still queued for the workers (up to seconds of slow pages),
        and the next run's first requests would wait behind them. Settled: /healthz answers
        quickly twice running."""
        deadline, quick = time.monotonic() + timeout, 0
        while quick < 2 and time.monotonic() < deadline:
            began = time.monotonic()
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=timeout) as response:  # noqa: S310 - our server
                response.read()
            quick = quick + 1 if (time.monotonic() - began) * 1000 < quick_ms else 0


def wrk(binary: str, url: str, *, seconds: int, connections: int, token: str | None = None) -> dict:
    """Requests/s and latency percentiles of `url` under `connections` concurrent keep-alive clients."""
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match[1]), match[2]
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors[1]) if errors else 0,
    }


def paired_runs(bare, api, rounds: int, settle=lambda: None) -> dict:
    """`bare` and `api` (each a wrk run) alternately, `rounds` times, the server settled before
    each. A shared machine's speed drifts by tens of percent from one ten-second stretch to the
    next: each round's ratio compares runs seconds apart, and the figure is the median round (by
    ratio), with every round kept."""
    runs = []
    for _ in range(rounds):
        settle()
        bare_run = bare()
        settle()
        api_run = api()
        runs.append({"bare": bare_run, "api": api_run, "ratio": divide(api_run["rps"], bare_run["rps"]) or 0})
    median = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
    return {"bare": median["bare"], "api": median["api"], "rounds": runs}


def run_script(url: str, module: str, *args: str) -> str:
    """A benchmark script of another app, run as its docstring says, against `url`."""
    env = {**django_env(url), "DJANGO_SETTINGS_MODULE": "diplomacy.settings", "DEBUG": "1"}
    result = subprocess.run(
        [PYTHON, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"{module} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def import_figures(url: str, rows: int, memory_rows: int | None) -> dict:
    if not (ROOT / "benchmarks" / "import_bench.py").exists():
        return {"missing": "benchmarks/import_bench.py has not landed"}
    output = run_script(url, "benchmarks.import_bench", "--rows", str(rows))
    figures = {
        "rows": rows,
        "import_rps": float(re.search(r"^import:.*= ([\d,]+) rows/s", output, re.MULTILINE)[1].replace(",", "")),
        "copy_rps": float(re.search(r"^COPY:.*= ([\d,]+) rows/s", output, re.MULTILINE)[1].replace(",", "")),
        "peak_rss_mb_100k": float(re.search(r"peak RSS ([\d,]+) MB", output)[1].replace(",", "")),
        "output": output,
    }
    floor = re.search(r"^floor:.*= ([\d,]+) rows/s", output, re.MULTILINE)
    if floor:
        figures["floor_rps"] = float(floor[1].replace(",", ""))
    if memory_rows:
        output = run_script(url, "benchmarks.import_bench", "--rows", str(memory_rows), "--memory-only")
        figures["memory_rows"] = memory_rows
        figures["peak_rss_mb"] = float(re.search(r"peak RSS ([\d,]+) MB", output)[1].replace(",", ""))
    return figures


# The CSV exports `make bench` times on the large database: results key, export_bench path, label.
EXPORTS = (("export", "api", "API CSV export"), ("export_html", "html", "engagement list CSV export"))


def export_figures(url: str, path: str = "api") -> dict:
    """A CSV export of every engagement (benchmarks/export_bench.py): rows/s, memory, and the
    database's CPU time with the rows/s it stands for on a machine with a core to spare."""
    output = run_script(url, "benchmarks.export_bench", "--path", path)
    server = re.search(r"^database CPU ([\d.]+) s; by the busier process, ([\d,]+) rows/s", output, re.MULTILINE)
    load = re.search(r"^load average ([\d.]+)", output, re.MULTILINE)
    return {
        "rows": int(re.search(r"^export: ([\d,]+) rows", output, re.MULTILINE)[1].replace(",", "")),
        "rps": float(re.search(r"^export:.*= ([\d,]+) rows/s", output, re.MULTILINE)[1].replace(",", "")),
        "peak_rss_mb": float(re.search(r"peak RSS ([\d,]+) MB", output)[1].replace(",", "")),
        "rss_growth_mb": float(re.search(r"\+([\d,]+) MB\)", output)[1].replace(",", "")),
        "database_cpu_s": float(server[1]) if server else None,
        "cpu_bound_rps": float(server[2].replace(",", "")) if server else None,
        "load_average": float(load[1]) if load else None,
        "output": output,
    }


def scan_figures(url: str, agreements: int) -> dict:
    if not (ROOT / "benchmarks" / "notification_scans.py").exists():
        return {"missing": "benchmarks/notification_scans.py has not landed"}
    output = run_script(url, "benchmarks.notification_scans", "--agreements", str(agreements))
    match = re.search(r"^daily scan, first run\s+([\d.]+) s\s+(\d+) queries", output, re.MULTILINE)
    again = re.search(r"^daily scan, same day again.*?\s([\d.]+) s\s+(\d+) queries", output, re.MULTILINE)
    return {
        "agreements": agreements,
        "daily_s": float(match[1]),
        "daily_queries": int(match[2]),
        "daily_again_s": float(again[1]) if again else None,
        "output": output,
    }


def compliance_figures(url: str, agreements: int) -> dict:
    output = run_script(url, "benchmarks.compliance_scan", "--agreements", str(agreements))
    first = re.search(r"^first run.*?:\s+([\d.]+) s", output, re.MULTILINE)
    daily = re.search(r"^daily run.*?:\s+([\d.]+) s", output, re.MULTILINE)
    return {"agreements": agreements, "first_s": float(first[1]), "daily_s": float(daily[1]), "output": output}


def row(figure: str, value, baseline, ratio, target: str, unit: str = "", ok: bool | None = None) -> dict:
    return {
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "unit": unit,
        "ok": ok,
    }


def divide(value: float, baseline: float) -> float | None:
    """A ratio, or None when the baseline finished nothing to compare with (a run too short)."""
    return value / baseline if baseline else None


def at_least(ratio: float | None, target: float) -> bool | None:
    return None if ratio is None else ratio >= target


def at_most(ratio: float | None, target: float) -> bool | None:
    return None if ratio is None else ratio <= target


def import_rows(imports: dict, floor_target: float | None) -> list[dict]:
    if "import_rps" not in imports:
        return (
            [row("import", imports.get("missing") or imports.get("error"), None, None, "", ok=False)] if imports else []
        )
    into = f" into {imports['engagements']:,} engagements" if "engagements" in imports else ""
    rows = []
    ratio = imports["import_rps"] / imports["copy_rps"]
    rows.append(
        row(
            f"import {imports['rows']:,} rows{into} (rows/s) vs COPY",
            imports["import_rps"],
            imports["copy_rps"],
            ratio,
            ">= 0.5x",
            ok=ratio >= 0.5,
        )
    )
    if "floor_rps" in imports:
        ratio = imports["import_rps"] / imports["floor_rps"]
        rows.append(
            row(
                f"import {imports['rows']:,} rows{into} (rows/s) vs no-Python floor",
                imports["import_rps"],
                imports["floor_rps"],
                ratio,
                f">= {floor_target}x" if floor_target else "(context)",
                ok=ratio >= floor_target if floor_target else None,
            )
        )
    if "peak_rss_mb" in imports:
        rows.append(
            row(
                f"import peak RSS, {imports['memory_rows']:,} rows (MB)",
                imports["peak_rss_mb"],
                None,
                None,
                "<= 300 MB",
                ok=imports["peak_rss_mb"] <= 300,
            )
        )
    rows.append(
        row(f"import peak RSS, 100,000 rows{into} (MB)", imports["peak_rss_mb_100k"], None, None, "(1M: --full-import)")
    )
    return rows


def summarise(results: dict) -> list[dict]:
    rows = []
    # The large database's figure is the one with a target (issue #18: 1M engagements).
    for key, target in (("import_large", 0.8), ("import", None)):
        rows += import_rows(results.get(key, {}), target)
    for name, figures in results.get("http", {}).items():
        api, bare = figures["api"], figures["bare"]
        ratio = divide(api["rps"], bare["rps"])
        if name == FLOOR:
            rows.append(row(f"API {name} (req/s) vs bare view", api["rps"], bare["rps"], ratio, "(context)"))
            continue
        target = RATIO_TARGETS.get(name, 0.35)
        rows.append(
            row(
                f"API {name} (req/s) vs bare view",
                api["rps"],
                bare["rps"],
                ratio,
                f">= {target}x",
                ok=at_least(ratio, target),
            )
        )
        tail = divide(api["p99_ms"], api["p50_ms"])
        rows.append(
            row(f"API {name} p99 vs p50 (ms)", api["p99_ms"], api["p50_ms"], tail, "<= 3x", ok=at_most(tail, 3))
        )
    for key, _, label in EXPORTS:
        export = results.get(key, {})
        if "rps" not in export:
            if export:
                rows.append(row(label, export.get("error"), None, None, "", ok=False))
            continue
        load = f", load {export['load_average']:.1f}" if export.get("load_average") is not None else ""
        rows.append(
            row(
                f"{label}, {export['rows']:,} rows (rows/s{load})",
                export["rps"],
                None,
                None,
                ">= 20,000",
                ok=export["rps"] >= 20_000,
            )
        )
        if export.get("cpu_bound_rps"):
            # The wall clock of a shared machine counts others' work too: the same export by the
            # CPU time of its busier process (the database's, for COPY).
            rows.append(
                row(
                    f"{label}, rows/s by CPU time (database {export['database_cpu_s']:.1f} s)",
                    export["cpu_bound_rps"],
                    None,
                    None,
                    "(context)",
                )
            )
        rows.append(
            row(f"{label}, peak RSS (MB)", export["peak_rss_mb"], None, None, "<= 150", ok=export["peak_rss_mb"] <= 150)
        )
        rows.append(
            row(
                f"{label}, RSS growth (MB)",
                export["rss_growth_mb"],
                None,
                None,
                "<= 100",
                ok=export["rss_growth_mb"] <= 100,
            )
        )
    large, small = results.get("large"), results.get("small")
    if large:
        combined = [(path, figures) for path, figures in large.get("api", {}).items() if SELECTIVE in path]
        combined += [(path, figures) for path, figures in large.get("pages", {}).items() if SELECTIVE in path]
        for path, figures in combined:
            rows.append(
                row(
                    f"country + topic {path.split('?')[0]} in-process (ms)",
                    figures["ms"],
                    None,
                    None,
                    "<= 50 ms",
                    ok=figures["ms"] <= 50,
                )
            )
    if large and small:
        pages = [("/dashboard/", large["dashboard"], small["dashboard"])]
        if "review" in large and "review" in small:
            pages.append(("/review/", large["review"], small["review"]))
        for label, big, little in pages + [
            (f"stats group_by={name}", large["stats"][name], small["stats"][name]) for name in large["stats"]
        ]:
            ratio = divide(big["ms"], little["ms"])
            rows.append(
                row(
                    f"{label} at {large['engagements']:,} vs {small['engagements']:,} (ms)",
                    big["ms"],
                    little["ms"],
                    ratio,
                    "<= 2x",
                    ok=at_most(ratio, 2),
                )
            )
            rows.append(
                row(
                    f"{label} queries at {large['engagements']:,}",
                    big["queries"],
                    little["queries"],
                    None,
                    "<= 15",
                    ok=big["queries"] <= 15,
                )
            )
        typeahead = large.get("typeahead")
        if typeahead:
            rows.append(
                row(
                    f"city type-ahead /cities/search/ p95 over {typeahead['cities']:,} cities (ms)",
                    typeahead["endpoint_p95_ms"],
                    typeahead["query_p95_ms"],
                    None,
                    "<= 30 ms",
                    ok=typeahead["endpoint_p95_ms"] <= 30,
                )
            )
    scan = results.get("scan", {})
    if "daily_s" in scan:
        rows.append(
            row(
                f"daily notification scan, {scan['agreements']:,} agreements (s)",
                scan["daily_s"],
                None,
                None,
                "<= 1 s",
                ok=scan["daily_s"] <= 1,
            )
        )
    elif scan:
        rows.append(row("daily notification scan", scan.get("missing") or scan.get("error"), None, None, "", ok=False))
    compliance = results.get("compliance", {})
    if "daily_s" in compliance:
        label = f"daily compliance and lifecycle scan, {compliance['agreements']:,} agreements (s)"
        rows.append(row(label, compliance["daily_s"], None, None, "<= 1 s", ok=compliance["daily_s"] <= 1))
        rows.append(row("  its first run, raising every flag (s)", compliance["first_s"], None, None, "(context)"))
    elif compliance:
        rows.append(row("daily compliance scan", compliance.get("error"), None, None, "", ok=False))
    return rows


def render(rows: list[dict]) -> str:
    def cell(value, digits=1):
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:,.{digits}f}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = [f"{'figure':<62} {'value':>10} {'baseline':>10} {'ratio':>7}  {'target':<20} ok"]
    lines.append("-" * len(lines[0]))
    for item in rows:
        verdict = {True: "yes", False: "NO", None: ""}[item["ok"]]
        lines.append(
            f"{item['figure']:<62} {cell(item['value']):>10} {cell(item['baseline']):>10} "
            f"{cell(item['ratio'], 2):>7}  {item['target']:<20} {verdict}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engagements", type=int, default=1_000_000, help="Engagements in the large database.")
    parser.add_argument("--small", type=int, default=10_000, help="Engagements in the small database.")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument(
        "--full-import",
        action="store_true",
        help="Also import 1,000,000 rows for the peak-memory figure (adds several minutes).",
    )
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--skip-export", action="store_true", help="Skip the CSV export of the large database.")
    parser.add_argument("--scan-agreements", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15, help="wrk time per figure and side, over all rounds.")
    parser.add_argument("--rounds", type=int, default=5, help="Alternations of bare view and API per figure.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the scale databases even if present.")
    options = parser.parse_args()
    began = time.monotonic()
    binary = ensure_wrk()

    log(f"databases: {options.small:,} and {options.engagements:,} engagements")
    small_url = database.ensure(options.small, rebuild=options.rebuild, log=log)
    large_url = database.ensure(options.engagements, rebuild=options.rebuild, log=log)
    database.checkpoint(log)
    results: dict = {"started": dt.datetime.now(dt.UTC).isoformat(), "options": vars(options)}

    token = bench_token(large_url)
    paths = {
        "first page": "/api/v1/engagements/?page_size=50",
        "selective filter": f"/api/v1/engagements/?page_size=50&{SELECTIVE}",
        f"deep page {DEEP_PAGE}": f"/api/v1/engagements/?page_size=50&page={DEEP_PAGE}",
        FLOOR: "/api/v1/topics/?page_size=1",
    }
    bare = {
        "first page": "/bench/bare/engagements/",
        "selective filter": f"/bench/bare/engagements/?{SELECTIVE}",
        f"deep page {DEEP_PAGE}": f"/bench/bare/engagements/?page={DEEP_PAGE}",
        FLOOR: "/bench/bare/engagements/",
    }
    log("in-process pages at both sizes")
    results["large"] = probe(
        large_url,
        token,
        [path for name, path in paths.items() if name != FLOOR],
        typeahead=300,
        page_urls=[COMBINED_PAGE],
    )
    results["small"] = probe(small_url, bench_token(small_url), [], typeahead=0)

    round_seconds = max(2, round(options.seconds / options.rounds))
    log(
        f"HTTP under load: wrk, {options.connections} connections, {options.rounds} rounds of "
        f"{round_seconds} s bare view then {round_seconds} s API per figure"
    )
    results["http"] = {}

    def measure(url: str, token: str | None = None) -> dict:
        return wrk(binary, url, seconds=round_seconds, connections=options.connections, token=token)

    with Server(large_url) as server:
        for name, path in paths.items():
            # One short run first, so both workers have their connections and caches warm.
            wrk(binary, server.base + bare[name], seconds=2, connections=options.connections)
            wrk(binary, server.base + path, seconds=2, connections=options.connections, token=token)
            results["http"][name] = paired_runs(
                functools.partial(measure, server.base + bare[name]),
                functools.partial(measure, server.base + path, token),
                options.rounds,
                server.settle,
            )
            log(f"  {name}: {results['http'][name]}")

    if not options.skip_import:
        # Into the large database (what issue #18 measures, at its scale), and into the small one,
        # where the floor's SQL is cheapest and the import's Python per row weighs the most.
        for key, url, engagements in (
            ("import_large", large_url, options.engagements),
            ("import", small_url, options.small),
        ):
            log(f"import of {options.import_rows:,} rows through the job path vs COPY, {engagements:,} engagements")
            try:
                with database.scratch_copy(url) as scratch:
                    results[key] = import_figures(
                        scratch,
                        options.import_rows,
                        1_000_000 if options.full_import and key == "import" else None,
                    )
                    results[key]["engagements"] = engagements
            except (RuntimeError, TypeError) as error:
                results[key] = {"error": str(error)[-500:]}
    if not options.skip_scan:
        log(f"daily notification scan over {options.scan_agreements:,} agreements")
        try:
            with database.scratch_copy(small_url) as scratch:
                results["scan"] = scan_figures(scratch, options.scan_agreements)
        except (RuntimeError, TypeError) as error:
            results["scan"] = {"error": str(error)[-500:]}

    if not options.skip_scan:
        log(f"daily compliance and lifecycle scan over {options.scan_agreements:,} agreements")
        try:
            with database.scratch_copy(small_url) as scratch:
                results["compliance"] = compliance_figures(scratch, options.scan_agreements)
        except (RuntimeError, TypeError) as error:
            results["compliance"] = {"error": str(error)[-500:]}

    if not options.skip_export:
        for key, path, label in EXPORTS:
            log(f"{label} of every engagement of the {options.engagements:,} database")
            try:
                results[key] = export_figures(large_url, path)
            except (RuntimeError, TypeError) as error:
                results[key] = {"error": str(error)[-500:]}

    results["seconds"] = time.monotonic() - began
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    results["rows"] = summarise(results)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    print()
    print(render(results["rows"]))
    print(f"\n{results['seconds'] / 60:.1f} min; details in {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
