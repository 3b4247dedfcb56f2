"""After a bulk load, the loaded tables are analysed and the tables that triggers rewrote during it
(the rollups) vacuumed: with autovacuum off, nothing else would ever clear the rollups' dead rows
or gather statistics. `seed_scale` vacuums what it loaded too (all-visible pages for index-only
scans)."""

import pytest
from django.db import connection, transaction

from engagements.models import Engagement
from rollups.models import CityEngagementTally, EngagementCount, EngagementPairTally, EngagementTally
from utilities.sqlbulk import refresh_statistics

pytestmark = pytest.mark.postgres

ROLLUPS = (EngagementCount, EngagementTally, CityEngagementTally, EngagementPairTally)


def maintenance() -> dict[str, tuple[int, int]]:
    """(vacuums, analyses) of each table so far, this connection's own counts flushed first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname, vacuum_count, analyze_count FROM pg_stat_user_tables")
        return {name: (vacuums, analyses) for name, vacuums, analyses in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vacuum_loaded", [False, True])
def test_a_load_leaves_the_rollups_vacuumed_and_every_table_analysed(vacuum_loaded):
    before = maintenance()
    refresh_statistics([Engagement], vacuum_loaded=vacuum_loaded)
    after = maintenance()
    loaded = [Engagement._meta.db_table, Engagement.topics.through._meta.db_table]
    for table in loaded + [model._meta.db_table for model in ROLLUPS]:
        vacuums, analyses = before.get(table, (0, 0))
        vacuumed = vacuum_loaded or table not in loaded
        assert after[table] == (vacuums + vacuumed, analyses + 1), table
    untouched = Engagement.agreement.field.related_model._meta.db_table
    assert after[untouched] == before.get(untouched, (0, 0))


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_tables_are_only_analysed():
    before = maintenance()
    with transaction.atomic():
        refresh_statistics([Engagement], vacuum_loaded=True)
    after = maintenance()
    for table in (Engagement._meta.db_table, EngagementCount._meta.db_table):
        vacuums, analyses = before.get(table, (0, 0))
        assert after[table] == (vacuums, analyses + 1), table
