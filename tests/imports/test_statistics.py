"""A large import leaves the planner's statistics fresh: plans made for the tables as they were
before a hundred thousand rows went bad (autovacuum may be off, or late)."""

import pytest
from django.db import connection

from engagements.models import Engagement
from imports import services
from tests.imports.helpers import import_text

pytestmark = pytest.mark.postgres

ROWS = "".join(f'Visit {n},"Los Angeles, US-CA",bilateral_meeting,completed,2026-03-{n:02d}\n' for n in range(1, 21))
FILE = "title,city,kind,status,start_date\n" + ROWS


def estimated_engagements() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Engagement._meta.db_table])
        return cursor.fetchone()[0]


def test_an_import_over_the_threshold_refreshes_the_statistics(world, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 20)

    job = import_text(tmp_path, "visits.csv", FILE, owner=world["staff_a"], kind="engagements")

    assert (job.status, job.created) == ("succeeded", 20)
    assert estimated_engagements() == 20


def test_a_small_import_leaves_the_statistics_to_autovacuum(world, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 21)
    before = estimated_engagements()

    import_text(tmp_path, "visits.csv", FILE, owner=world["staff_a"], kind="engagements")

    assert estimated_engagements() == before
