"""An update of engagements that changes no counted column returns from the tally trigger before
computing any delta: the filter arrays' sync (engagements 0004) rewrites thousands of rows per
imported chunk and changes nothing the tallies count. The SQL is `python -m rollups.triggers
rollups_engagement_tally_update`, frozen here."""

from django.db import migrations

from utilities.schema import on_postgresql

APPLY = r"""
CREATE OR REPLACE FUNCTION rollups_engagement_tally_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
                      WHERE o.id IS DISTINCT FROM n.id OR o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility OR o.start_date IS DISTINCT FROM n.start_date OR o.kind IS DISTINCT FROM n.kind OR o.review_status IS DISTINCT FROM n.review_status) THEN
        RETURN NULL;
    END IF;
    WITH deltas AS MATERIALIZED (
        SELECT r.city_id, r.visibility::text AS visibility, d.dimension, d.key, -1 AS delta
        FROM old_rows AS r CROSS JOIN LATERAL (VALUES
            ('month', to_char(r.start_date, 'YYYY-MM')),
            ('year', to_char(r.start_date, 'YYYY')),
            ('kind', r.kind::text),
            ('review_status', r.review_status::text)
        ) AS d (dimension, key) UNION ALL 
        SELECT r.city_id, r.visibility::text AS visibility, d.dimension, d.key, 1 AS delta
        FROM new_rows AS r CROSS JOIN LATERAL (VALUES
            ('month', to_char(r.start_date, 'YYYY-MM')),
            ('year', to_char(r.start_date, 'YYYY')),
            ('kind', r.kind::text),
            ('review_status', r.review_status::text)
        ) AS d (dimension, key) UNION ALL 
        SELECT r.city_id, r.visibility::text, 'topic', t.topic_id::text, -1
        FROM (SELECT id, old_city AS city_id, old_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r JOIN engagements_engagement_topics AS t ON t.engagement_id = r.id
        UNION ALL
        SELECT r.city_id, r.visibility::text, 'country', c.country_id::text, -1
        FROM (SELECT id, old_city AS city_id, old_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r JOIN engagements_engagement_counterpart_countries AS c ON c.engagement_id = r.id
        UNION ALL
        SELECT g.city_id, g.visibility::text, 'region', g.region::text, -1
        FROM (
            SELECT DISTINCT r.id, r.city_id, r.visibility, k.region
            FROM (SELECT id, old_city AS city_id, old_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r
            JOIN engagements_engagement_counterpart_countries AS c ON c.engagement_id = r.id
            JOIN cities_country AS k ON k.iso2 = c.country_id
        ) AS g UNION ALL 
        SELECT r.city_id, r.visibility::text, 'topic', t.topic_id::text, 1
        FROM (SELECT id, new_city AS city_id, new_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r JOIN engagements_engagement_topics AS t ON t.engagement_id = r.id
        UNION ALL
        SELECT r.city_id, r.visibility::text, 'country', c.country_id::text, 1
        FROM (SELECT id, new_city AS city_id, new_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r JOIN engagements_engagement_counterpart_countries AS c ON c.engagement_id = r.id
        UNION ALL
        SELECT g.city_id, g.visibility::text, 'region', g.region::text, 1
        FROM (
            SELECT DISTINCT r.id, r.city_id, r.visibility, k.region
            FROM (SELECT id, new_city AS city_id, new_visibility AS visibility FROM (
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        ) AS m) AS r
            JOIN engagements_engagement_counterpart_countries AS c ON c.engagement_id = r.id
            JOIN cities_country AS k ON k.iso2 = c.country_id
        ) AS g),
    city_tier AS (
        INSERT INTO rollups_cityengagementtally AS tally (city_id, visibility, dimension, key, count)
        SELECT city_id, visibility, dimension, key, sum(delta) FROM deltas
        GROUP BY city_id, visibility, dimension, key HAVING sum(delta) <> 0
        ORDER BY city_id, visibility, dimension, key
        ON CONFLICT (city_id, visibility, dimension, key) DO UPDATE SET count = tally.count + EXCLUDED.count
    )
    INSERT INTO rollups_engagementtally AS tally (visibility, dimension, key, count)
    SELECT visibility, dimension, key, sum(delta) FROM deltas
    GROUP BY visibility, dimension, key HAVING sum(delta) <> 0
    ORDER BY visibility, dimension, key
    ON CONFLICT (visibility, dimension, key) DO UPDATE SET count = tally.count + EXCLUDED.count;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS rollups_engagement_tally_update ON engagements_engagement;
CREATE TRIGGER rollups_engagement_tally_update AFTER UPDATE ON engagements_engagement REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_tally_update();
"""


class Migration(migrations.Migration):
    dependencies = [("rollups", "0007_region_deltas_set_wise")]

    operations = [migrations.RunPython(on_postgresql(APPLY), migrations.RunPython.noop)]
