"""After a bulk load, the loaded tables are analysed and the tables that triggers rewrote during
it (the rollups) are vacuumed: with autovacuum off, nothing else would ever clear their dead rows."""

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
def test_a_load_leaves_the_rollups_vacuumed_and_the_loaded_tables_analysed():
    before = maintenance()
    refresh_statistics([Engagement])
    after = maintenance()
    for model in ROLLUPS:
        table = model._meta.db_table
        assert after[table][0] == before.get(table, (0, 0))[0] + 1, table
    for table in (Engagement._meta.db_table, Engagement.topics.through._meta.db_table):
        assert after[table][1] == before.get(table, (0, 0))[1] + 1, table
        assert after[table][0] == before.get(table, (0, 0))[0], table


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_rollups_are_only_analysed():
    before = maintenance()
    with transaction.atomic():
        refresh_statistics([Engagement])
    after = maintenance()
    table = EngagementCount._meta.db_table
    assert after[table] == (before.get(table, (0, 0))[0], before.get(table, (0, 0))[1] + 1)
