"""How long the daily notification scan takes over 100,000 agreements, and one weekly digest run.

    DATABASE_URL=postgres://... DEBUG=1 .venv/bin/python -m benchmarks.notification_scans [--agreements 100000]

Seeds its own data with bulk inserts (cities, staff, liaisons, agreements with expiry dates spread
over ten years, engagements created over two months, open follow-ups, flagged reviews), then times
the daily scan twice on the same day (the second finds every event claimed), once on the next
day, the weekly digest, and the delivery of 1,000 emails to Django's in-memory mail backend.
Everything it created is deleted at the end unless --keep is given.

A daily scan's figure is everything the scheduled job does in its run: choosing recipients,
writing the notices, and publishing the email jobs to the configured broker (Redis with
REDIS_URL, else the embedded file-system broker), from a cold broker connection. The jobs go to
a queue of their own that is emptied afterwards; sending the emails is the workers' part, timed
separately by the last line.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

PREFIX = "NBENCH"
DISCARD_QUEUE = "notification-scans-benchmark"
STATES = [
    f"US-{code}"
    for code in [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
]


def _setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diplomacy.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def seed(*, agreements: int, rng: random.Random):
    from django.db import connection
    from django.utils import timezone

    from accounts.models import PortfolioState, User
    from cities.models import City, Country
    from engagements.models import Agreement, Engagement, FollowUp, Review

    us, _ = Country.objects.get_or_create(iso2="US", defaults={"iso3": "USA", "name": "United States"})
    cities = City.objects.bulk_create(
        City(
            name=f"{PREFIX} City {n}",
            ascii_name=f"{PREFIX} City {n}",
            country=us,
            subdivision=STATES[n % 50],
            timezone="America/Chicago",
            slug=f"{PREFIX.lower()}-city-{n}",
        )
        for n in range(250)
    )
    staff = User.objects.bulk_create(
        User(username=f"{PREFIX.lower()}-staff-{n}", email=f"staff{n}@example.org", role="staff") for n in range(500)
    )
    User.home_cities.through.objects.bulk_create(
        User.home_cities.through(user_id=user.pk, city_id=cities[n // 2].pk) for n, user in enumerate(staff)
    )
    liaisons = User.objects.bulk_create(
        User(
            username=f"{PREFIX.lower()}-liaison-{n}",
            email=f"liaison{n}@example.org",
            role="liaison",
            portfolio_all=(n == 0),
        )
        for n in range(20)
    )
    PortfolioState.objects.bulk_create(
        PortfolioState(user=user, subdivision=state)
        for n, user in enumerate(liaisons[1:])
        for state in STATES[(n * 3) % 50 : (n * 3) % 50 + 3]
    )
    today = timezone.localdate()
    statuses = ["active"] * 7 + ["signed", "suspended", "expired", "terminated", "negotiating"]
    Agreement.objects.bulk_create(
        (
            Agreement(
                city=cities[rng.randrange(250)],
                title=f"{PREFIX} agreement {n}",
                kind="sister_city",
                status=rng.choice(statuses),
                visibility=rng.choice(["public", "internal", "restricted"]),
                signed_on=today - dt.timedelta(days=3650),
                expires_on=today + dt.timedelta(days=rng.randint(-1825, 1825)),
            )
            for n in range(agreements)
        ),
        batch_size=5000,
    )
    engagements = Engagement.objects.bulk_create(
        (
            Engagement(
                city=cities[rng.randrange(250)],
                title=f"{PREFIX} engagement {n}",
                kind="bilateral_meeting",
                status="planned",
                start_date=today + dt.timedelta(days=rng.randint(-30, 90)),
                federal_coordination_requested=rng.random() < 0.1,
            )
            for n in range(20_000)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE engagements_engagement SET created_at = now() - random() * interval '60 days' WHERE title LIKE %s",
            [f"{PREFIX}%"],
        )
    by_city = {city.pk: [u for n, u in enumerate(staff) if cities[n // 2].pk == city.pk] for city in cities}
    FollowUp.objects.bulk_create(
        (
            FollowUp(
                engagement=e,
                description=f"{PREFIX} follow-up",
                due_on=today + dt.timedelta(days=rng.randint(-60, 30)),
                assignee=rng.choice(by_city[e.city_id]),
            )
            for e in engagements[:10_000]
        ),
        batch_size=5000,
    )
    Review.objects.bulk_create(
        Review(engagement=e, reviewer=liaisons[0], decision="flagged", comment="Watch this.")
        for e in engagements[:2000]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE engagements_review SET created_at = now() - random() * interval '30 days' WHERE reviewer_id = %s",
            [liaisons[0].pk],
        )
    return today


def timed(label: str, function, *args, **kwargs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = function(*args, **kwargs)
        elapsed = time.perf_counter() - start
    print(f"{label:<48} {elapsed:8.2f} s  {len(queries):5d} queries  {len(result):6d} new")
    return result


def cleanup() -> None:
    from django.db import connection

    from accounts.models import User
    from cities.models import City
    from engagements.models import Agreement, Engagement
    from notifications.models import Notification

    Notification.objects.filter(recipient__username__startswith=PREFIX.lower()).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM engagements_review WHERE engagement_id IN (SELECT id FROM engagements_engagement WHERE title LIKE %s)",
            [f"{PREFIX}%"],
        )
        cursor.execute(
            "DELETE FROM engagements_followup WHERE engagement_id IN (SELECT id FROM engagements_engagement WHERE title LIKE %s)",
            [f"{PREFIX}%"],
        )
    Engagement.objects.filter(title__startswith=PREFIX)._raw_delete(Engagement.objects.db)
    Agreement.objects.filter(title__startswith=PREFIX)._raw_delete(Agreement.objects.db)
    User.objects.filter(username__startswith=PREFIX.lower()).delete()
    City.objects.filter(name__startswith=PREFIX).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the seeded data")
    options = parser.parse_args()
    _setup_django()
    from django.conf import settings

    from diplomacy.celery import app
    from engagements.write_path import write_path
    from notifications import delivery, digests, tasks
    from notifications.models import EmailState, Notification

    # The email jobs the scans publish go to a queue no worker reads, emptied at the end.
    app.conf.task_routes = {"notifications.deliver_emails": {"queue": DISCARD_QUEUE}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cleanup()
    start = time.perf_counter()
    # Load data written straight into the tables, as the bench's other load data is.
    with write_path():
        today = seed(agreements=options.agreements, rng=random.Random(2026))
    print(
        f"Seeded {options.agreements:,} agreements, 20,000 engagements, 10,000 follow-ups, 2,000 flags, "
        f"520 users in {time.perf_counter() - start:.1f} s"
    )

    try:
        timed("daily scan, first run", tasks.run_daily_scan, today)
        timed("daily scan, same day again (all claimed)", tasks.run_daily_scan, today)
        timed("daily scan, next day", tasks.run_daily_scan, today + dt.timedelta(days=1))
        timed("weekly digest", digests.send_weekly_digests)
        timed("weekly digest, again (all claimed)", digests.send_weekly_digests)
        pending = list(
            Notification.objects.filter(email_state=EmailState.PENDING, recipient__username__startswith=PREFIX.lower())
            .order_by("pk")
            .values_list("pk", flat=True)[:1000]
        )
        start = time.perf_counter()
        for chunk in delivery.chunked(pending, 100):
            delivery.deliver_emails(chunk)
        elapsed = time.perf_counter() - start
        print(
            f"{'deliver 1,000 emails (in-memory backend)':<48} {elapsed:8.2f} s  {elapsed / len(pending) * 1000:.1f} ms each"
        )
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(DISCARD_QUEUE)
        if not options.keep:
            cleanup()


if __name__ == "__main__":
    main()
