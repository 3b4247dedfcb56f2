"""A topic's new slug takes the writers' lock before its trigger rewrites the filter arrays of
its records (engagements 0004) under row locks, so that the pair tallies' writers always queue in
one order. The SQL is `python -m rollups.triggers rollups_0_cities_topic_update_lock`, frozen here."""

from django.db import migrations

from utilities.schema import on_postgresql

APPLY = r"""
CREATE OR REPLACE FUNCTION rollups_0_cities_topic_update_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                      WHERE o.slug IS DISTINCT FROM n.slug) THEN
        PERFORM pg_advisory_xact_lock(hashtext('rollups_engagement_tallies'));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS rollups_0_cities_topic_update_lock ON cities_topic;
CREATE TRIGGER rollups_0_cities_topic_update_lock AFTER UPDATE ON cities_topic REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_0_cities_topic_update_lock();
"""

REMOVE = (
    "DROP TRIGGER IF EXISTS rollups_0_cities_topic_update_lock ON cities_topic; "
    "DROP FUNCTION IF EXISTS rollups_0_cities_topic_update_lock();"
)


class Migration(migrations.Migration):
    dependencies = [("rollups", "0009_topic_country_pairs")]

    operations = [migrations.RunPython(on_postgresql(APPLY), on_postgresql(REMOVE))]
