"""In-process measurements against one database, printed as one JSON object on the last line:

    DATABASE_URL=postgres://... DJANGO_SETTINGS_MODULE=benchmarks.settings SECRET_KEY=... \\
        python -m benchmarks.probe --user bench-liaison

Each page is requested through Django's test client (the whole middleware, view, template and
serializer path, no network): once to warm caches, then `--repeat` times; the median time and the
query count of one request are reported. The type-ahead is measured over prefixes of real city
names, both through its endpoint and as the `City.objects.search` query alone.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

STATS_DIMENSIONS = ("month", "topic", "kind", "country", "city", "state")


def _setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()


def measure(client, url: str, repeat: int, **headers) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    count = len(queries)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(url, **headers)
        seconds.append(time.perf_counter() - began)
    return {"url": url, "ms": statistics.median(seconds) * 1000, "queries": count}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def type_ahead(client, samples: int) -> dict:
    from cities import matching
    from cities.models import City

    rng = random.Random(7)
    names = list(City.objects.order_by("pk").values_list("search_name", flat=True))
    prefixes = [name[: rng.randint(1, 4)] for name in rng.sample(names, min(samples, len(names)))]
    endpoint, query = [], []
    for prefix in prefixes:
        began = time.perf_counter()
        response = client.get("/cities/search/", {"q": prefix})
        endpoint.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
        began = time.perf_counter()
        matching.suggest(prefix, 8, City.objects.select_related("country"))
        query.append(time.perf_counter() - began)
    return {
        "cities": len(names),
        "prefixes": len(prefixes),
        "endpoint_p50_ms": percentile(endpoint, 0.5) * 1000,
        "endpoint_p95_ms": percentile(endpoint, 0.95) * 1000,
        "query_p95_ms": percentile(query, 0.95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", required=True, help="A liaison who reads everything.")
    parser.add_argument("--token", required=True, help="That liaison's API token.")
    parser.add_argument("--repeat", type=int, default=7, help="Timed requests per page; the median is reported.")
    parser.add_argument("--api-url", action="append", default=[], help="API list URLs to measure as well.")
    parser.add_argument("--page-url", action="append", default=[], help="HTML pages to measure as well (signed in).")
    parser.add_argument("--typeahead", type=int, default=0, help="How many type-ahead prefixes to time (0: none).")
    options = parser.parse_args()
    _setup_django()
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client

    # Every request would empty the query log the count is read from.
    request_started.disconnect(reset_queries)

    from accounts.models import User
    from engagements.models import Engagement

    client = Client()
    client.force_login(User.objects.get(username=options.user))
    api = Client(HTTP_AUTHORIZATION=f"Token {options.token}")
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM engagements_engagement")
        (total,) = cursor.fetchone()
    result = {
        "engagements": total,
        "agreements": Engagement.agreement.field.related_model.objects.count(),
        "count_ms": (time.perf_counter() - began) * 1000,
        "dashboard": measure(client, "/dashboard/", options.repeat),
        # The liaison's review queue: unreviewed first, flagged and watched on top (SPEC §5).
        "review": measure(client, "/review/", options.repeat),
        "stats": {
            dimension: measure(api, f"/api/v1/stats/engagements/?group_by={dimension}", options.repeat)
            for dimension in STATS_DIMENSIONS
        },
        "api": {url: measure(api, url, options.repeat) for url in options.api_url},
        "pages": {url: measure(client, url, options.repeat) for url in options.page_url},
    }
    if options.typeahead:
        result["typeahead"] = type_ahead(client, options.typeahead)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
