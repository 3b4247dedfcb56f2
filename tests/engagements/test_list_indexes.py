"""The date index every engagement list is ordered by carries the filter arrays and the columns
the read policy filters on (PostgreSQL), so a filtered page's ids are read from the index alone."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def index_columns(name: str) -> tuple[list[str], list[str]]:
    """The key columns and the included columns of index `name`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, k.position <= i.indnkeyatts FROM pg_index AS i "
            "JOIN pg_class AS c ON c.oid = i.indexrelid "
            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, position) "
            "JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE c.relname = %s ORDER BY k.position",
            [name],
        )
        rows = cursor.fetchall()
    return [column for column, key in rows if key], [column for column, key in rows if not key]


def test_the_date_index_covers_the_filters_and_the_policy():
    keys, included = index_columns("engagement_start_idx")
    assert keys == ["start_date", "id"]
    assert set(included) == {"topic_slugs", "counterpart_country_codes", "visibility", "city_id"}


def test_a_filtered_page_can_be_read_from_the_index_alone():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM engagements_engagement WHERE topic_slugs && '{climate}' "
            "AND counterpart_country_codes @> '{DE}' AND (visibility = 'public' OR city_id = 1) "
            "ORDER BY start_date DESC, id DESC LIMIT 50"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan Backward using engagement_start_idx" in plan
