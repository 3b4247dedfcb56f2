"""Triggers that keep `rollups_engagementcount` exact, and the counts of the rows already there.

Statement-level triggers with transition tables: one COPY or bulk statement of a million rows
costs one grouped upsert, not a million. An update that changes neither city nor visibility nets
to nothing and writes nothing (no row lock on the count).
"""

from django.db import migrations

from utilities.schema import on_postgresql

APPLY = """
CREATE OR REPLACE FUNCTION rollups_engagement_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM rollups_engagementcount;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO rollups_engagementcount AS total (city_id, visibility, count)
        SELECT city_id, visibility, count(*) FROM new_rows GROUP BY city_id, visibility
        ORDER BY city_id, visibility
        ON CONFLICT (city_id, visibility) DO UPDATE SET count = total.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO rollups_engagementcount AS total (city_id, visibility, count)
        SELECT city_id, visibility, -count(*) FROM old_rows GROUP BY city_id, visibility
        ORDER BY city_id, visibility
        ON CONFLICT (city_id, visibility) DO UPDATE SET count = total.count + EXCLUDED.count;
    ELSE
        INSERT INTO rollups_engagementcount AS total (city_id, visibility, count)
        SELECT city_id, visibility, sum(delta) FROM (
            SELECT city_id, visibility, -1 AS delta FROM old_rows
            UNION ALL
            SELECT city_id, visibility, 1 AS delta FROM new_rows
        ) AS changes
        GROUP BY city_id, visibility HAVING sum(delta) <> 0
        ORDER BY city_id, visibility
        ON CONFLICT (city_id, visibility) DO UPDATE SET count = total.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER rollups_engagement_count_insert AFTER INSERT ON engagements_engagement
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_count_apply();
CREATE TRIGGER rollups_engagement_count_update AFTER UPDATE ON engagements_engagement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_count_apply();
CREATE TRIGGER rollups_engagement_count_delete AFTER DELETE ON engagements_engagement
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_count_apply();
CREATE TRIGGER rollups_engagement_count_truncate AFTER TRUNCATE ON engagements_engagement
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_count_apply();

LOCK TABLE engagements_engagement IN SHARE MODE;
DELETE FROM rollups_engagementcount;
INSERT INTO rollups_engagementcount (city_id, visibility, count)
SELECT city_id, visibility, count(*) FROM engagements_engagement GROUP BY city_id, visibility;
"""

REMOVE = """
DROP TRIGGER IF EXISTS rollups_engagement_count_insert ON engagements_engagement;
DROP TRIGGER IF EXISTS rollups_engagement_count_update ON engagements_engagement;
DROP TRIGGER IF EXISTS rollups_engagement_count_delete ON engagements_engagement;
DROP TRIGGER IF EXISTS rollups_engagement_count_truncate ON engagements_engagement;
DROP FUNCTION IF EXISTS rollups_engagement_count_apply();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0001_initial"),
        ("engagements", "0001_initial"),
    ]

    operations = [migrations.RunPython(on_postgresql(APPLY), on_postgresql(REMOVE))]
