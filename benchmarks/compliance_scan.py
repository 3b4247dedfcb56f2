# ruff: noqa: S608 - table and column names come from the models' metadata, values go as parameters
"""How long the daily compliance and lifecycle scan takes over 100,000 agreements.

    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python -m benchmarks.compliance_scan [--agreements 100000]

Seeds its own data with bulk inserts into a migrated database (home cities in every state, among
them Texas, Florida and Arkansas; foreign cities in countries the shipped rules name and others;
agreements with one or two counterpart cities and their countries; engagements with counterpart
cities, a fifth linked to an agreement), loads the shipped rules, then times
`compliance.tasks.run_daily_scan` three times: the first run raises every flag and fills every
agreement's `last_activity_on`, the second finds everything current (the daily case), the third
after 1% of the agreements were terminated (lifts their flags). Deletes what it created unless --keep.
"""

import argparse
import os
import random
import sys
import time

PREFIX = "CBENCH"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--engagements", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diplomacy.settings")
    import django

    django.setup()
    from django.db import connection

    from cities.models import City, Country
    from compliance.models import ComplianceFlag
    from compliance.reference import load_rules
    from compliance.tasks import run_daily_scan
    from engagements.models import Agreement, Engagement
    from engagements.write_path import write_path

    rng = random.Random(2026)
    codes = ["CN", "TW", "JP", "DE", "RU", "CU", "MX", "BY"]
    for code in codes:
        Country.objects.get_or_create(iso2=code, defaults={"iso3": code + "X", "name": code})
    Country.objects.get_or_create(iso2="US", defaults={"iso3": "USA", "name": "United States"})
    load_rules()
    states = ["US-TX", "US-FL", "US-AR", "US-CA", "US-NY", "US-IL", "US-WA", "US-GA"]
    homes = City.objects.bulk_create(
        City(
            name=f"{PREFIX} home {i}",
            ascii_name=f"home {i}",
            country_id="US",
            subdivision=states[i % len(states)],
            slug=f"{PREFIX.lower()}-home-{i}",
        )
        for i in range(400)
    )
    abroad = City.objects.bulk_create(
        City(
            name=f"{PREFIX} abroad {i}",
            ascii_name=f"abroad {i}",
            country_id=codes[i % len(codes)],
            slug=f"{PREFIX.lower()}-abroad-{i}",
        )
        for i in range(800)
    )
    started = time.monotonic()
    with write_path():
        agreements = Agreement.objects.bulk_create(
            (
                Agreement(
                    city=rng.choice(homes),
                    title=f"{PREFIX} agreement {i}",
                    kind=rng.choice(Agreement.Kind.values),
                    status=rng.choice(Agreement.Status.values),
                )
                for i in range(args.agreements)
            ),
            batch_size=5000,
        )
        ac, acc = Agreement.counterpart_cities.through, Agreement.counterpart_countries.through
        city_rows, country_rows = [], []
        for agreement in agreements:
            for city in rng.sample(abroad, rng.choice([1, 1, 2])):
                city_rows.append(ac(agreement_id=agreement.pk, city_id=city.pk))
                country_rows.append((agreement.pk, city.country_id))
        ac.objects.bulk_create(city_rows, batch_size=10000)
        acc.objects.bulk_create([acc(agreement_id=a, country_id=c) for a, c in set(country_rows)], batch_size=10000)
        engagements = Engagement.objects.bulk_create(
            (
                Engagement(
                    city=rng.choice(homes),
                    title=f"{PREFIX} engagement {i}",
                    kind="bilateral_meeting",
                    status=rng.choice(Engagement.Status.values),
                    start_date=f"{rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}-01",
                    agreement=rng.choice(agreements) if i % 5 == 0 else None,
                )
                for i in range(args.engagements)
            ),
            batch_size=5000,
        )
        ec = Engagement.counterpart_cities.through
        ec.objects.bulk_create(
            [ec(engagement_id=e.pk, city_id=rng.choice(abroad).pk) for e in engagements], batch_size=10000
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {args.agreements} agreements, {args.engagements} engagements in {time.monotonic() - started:.1f} s")
    try:
        for label in ("first run (raises every flag, fills last activity)", "daily run (nothing changed)"):
            started = time.monotonic()
            result = run_daily_scan()
            print(f"{label}: {time.monotonic() - started:.3f} s {result}")
        ids = [a.pk for a in agreements[: len(agreements) // 100]]
        with write_path():
            Agreement.objects.filter(pk__in=ids).update(status="terminated")
        started = time.monotonic()
        result = run_daily_scan()
        print(f"after 1% terminated: {time.monotonic() - started:.3f} s {result}")
        print(f"open flags: {ComplianceFlag.objects.filter(status='open').count()}")
    finally:
        if not args.keep:
            _clean_up(connection, [Engagement, Agreement], City)
    return 0


def _clean_up(connection, models, city_model) -> None:
    """Delete what the benchmark seeded in SQL: Django's delete would write a history entry per
    record, with its relations, hundreds of thousands of queries for rows no one kept."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in models:
            table = quote(model._meta.db_table)
            chosen = f"SELECT id FROM {table} WHERE title LIKE %s"
            for relation in model._meta.related_objects:
                if relation.many_to_many or relation.one_to_one or relation.field.model._meta.proxy:
                    continue
                other = relation.related_model._meta
                column = relation.field.column
                # The records of other tables that point at ours, whatever they are (flags, notices).
                cursor.execute(
                    f"DELETE FROM {quote(other.db_table)} WHERE {quote(column)} IN ({chosen})", [f"{PREFIX}%"]
                )
            for field in model._meta.local_many_to_many:
                through = field.remote_field.through._meta
                column = field.m2m_column_name()
                cursor.execute(
                    f"DELETE FROM {quote(through.db_table)} WHERE {quote(column)} IN ({chosen})", [f"{PREFIX}%"]
                )
            cursor.execute(f"DELETE FROM {table} WHERE title LIKE %s", [f"{PREFIX}%"])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    city_model.objects.filter(name__startswith=PREFIX).delete()


if __name__ == "__main__":
    sys.exit(main())
