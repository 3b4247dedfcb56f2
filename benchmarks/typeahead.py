"""The city type-ahead over every city loaded (SPEC §8.1: p95 <= 30 ms), beside a baseline
measured in the same run: the bare SQL of the old prefix match on one folded name per city.

    DATABASE_URL=postgres://... SECRET_KEY=... python -m benchmarks.typeahead [--samples 2000]

What is typed: for cities drawn from every city loaded (all of them with `--samples 0`), the
first 1 to 6 letters of one of its names or alternate names (any script), accented as written or
folded; each through `/cities/search/` (Django's test client: middleware, view, template) and as
the matcher's queries alone. Prints p50/p95 of each and the ratios to the baseline.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="Cities to type (0: every city).")
    options = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    # As served in production (and by `make bench`): persistent database connections.
    os.environ.setdefault("CONN_MAX_AGE", "600")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.models import User
    from cities import matching
    from cities.models import City
    from cities.text import fold

    rng = random.Random(2026)
    cities = list(City.objects.values_list("pk", "name", "alternate_names"))
    chosen = cities if not options.samples else rng.sample(cities, min(options.samples, len(cities)))
    typed = []
    for _pk, name, alternates in chosen:
        names = [name, *(alt for alt in (alternates or "").split("|") if alt)]
        written = rng.choice(names)
        written = written if rng.random() < 0.5 else fold(written)
        typed.append(written[: rng.randint(1, 6)])
    user, _ = User.objects.get_or_create(username="bench-typeahead", defaults={"role": "staff"})
    client = Client()
    client.force_login(user)
    endpoint, query, baseline = [], [], []
    with override_settings(ALLOWED_HOSTS=["testserver"]), connection.cursor() as cursor:
        client.get("/cities/search/", {"q": "a"})
        for text in typed:
            began = time.perf_counter()
            response = client.get("/cities/search/", {"q": text})
            endpoint.append(time.perf_counter() - began)
            assert response.status_code == 200, response.status_code
            began = time.perf_counter()
            matching.suggest(text, 8, City.objects.select_related("country"))
            query.append(time.perf_counter() - began)
            began = time.perf_counter()
            cursor.execute(
                "SELECT id, name, subdivision, population FROM cities_city WHERE search_name LIKE %s "
                "ORDER BY population DESC LIMIT 8",
                [fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
            )
            cursor.fetchall()
            baseline.append(time.perf_counter() - began)
    ms = {
        name: [v * 1000 for v in values]
        for name, values in (("endpoint", endpoint), ("query", query), ("baseline", baseline))
    }
    print(f"cities loaded: {len(cities):,}; typed: {len(typed):,} prefixes; load average {os.getloadavg()[0]:.2f}")
    for name, values in ms.items():
        print(f"{name:<9} p50 {statistics.median(values):6.2f} ms   p95 {percentile(values, 0.95):6.2f} ms")
    p95 = percentile(ms["endpoint"], 0.95)
    base = percentile(ms["baseline"], 0.95)
    print(
        f"type-ahead endpoint p95 {p95:.2f} ms (target <= 30 ms: {'yes' if p95 <= 30 else 'NO'}); "
        f"{p95 / base:.1f}x the bare one-name prefix query's p95 ({base:.2f} ms); "
        f"matcher queries alone p95 {percentile(ms['query'], 0.95):.2f} ms"
    )


if __name__ == "__main__":
    main()
