"""Engagements per city, visibility, topic and counterpart country (`EngagementPairTally`), kept
from the filter arrays on the engagement rows: a list filtered on a topic and a country is counted
by summing a few of these instead of reading thousands of scattered records. The functions and
triggers are `python -m rollups.triggers rollups_engagement_pair_insert
rollups_engagement_pair_delete rollups_engagement_pair_update rollups_engagement_pair_truncate`,
frozen here; the table is filled from the arrays as they are."""

from django.db import migrations, models

from utilities.schema import on_postgresql

APPLY = r"""
CREATE OR REPLACE FUNCTION rollups_engagement_pair_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    
    INSERT INTO rollups_engagementpairtally AS tally (city_id, visibility, topic, country, count)
    SELECT city_id, visibility, topic, country, sum(delta) FROM (
        SELECT r.city_id, r.visibility::text AS visibility, t.topic, c.country, 1 AS delta
        FROM new_rows AS r CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
        CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country)) AS deltas
    GROUP BY city_id, visibility, topic, country HAVING sum(delta) <> 0
    ORDER BY city_id, visibility, topic, country
    ON CONFLICT (city_id, visibility, topic, country) DO UPDATE SET count = tally.count + EXCLUDED.count;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rollups_engagement_pair_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    
    INSERT INTO rollups_engagementpairtally AS tally (city_id, visibility, topic, country, count)
    SELECT city_id, visibility, topic, country, sum(delta) FROM (
        SELECT r.city_id, r.visibility::text AS visibility, t.topic, c.country, -1 AS delta
        FROM old_rows AS r CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
        CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country)) AS deltas
    GROUP BY city_id, visibility, topic, country HAVING sum(delta) <> 0
    ORDER BY city_id, visibility, topic, country
    ON CONFLICT (city_id, visibility, topic, country) DO UPDATE SET count = tally.count + EXCLUDED.count;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rollups_engagement_pair_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility OR o.topic_slugs IS DISTINCT FROM n.topic_slugs OR o.counterpart_country_codes IS DISTINCT FROM n.counterpart_country_codes) THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('rollups_engagement_tallies'));
    INSERT INTO rollups_engagementpairtally AS tally (city_id, visibility, topic, country, count)
    SELECT city_id, visibility, topic, country, sum(delta) FROM (
        SELECT r.city_id, r.visibility::text AS visibility, t.topic, c.country, -1 AS delta
        FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id CROSS JOIN LATERAL (SELECT o.*) AS r CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
        CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country) WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility OR o.topic_slugs IS DISTINCT FROM n.topic_slugs OR o.counterpart_country_codes IS DISTINCT FROM n.counterpart_country_codes UNION ALL 
        SELECT r.city_id, r.visibility::text AS visibility, t.topic, c.country, 1 AS delta
        FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id CROSS JOIN LATERAL (SELECT n.*) AS r CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
        CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country) WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility OR o.topic_slugs IS DISTINCT FROM n.topic_slugs OR o.counterpart_country_codes IS DISTINCT FROM n.counterpart_country_codes) AS deltas
    GROUP BY city_id, visibility, topic, country HAVING sum(delta) <> 0
    ORDER BY city_id, visibility, topic, country
    ON CONFLICT (city_id, visibility, topic, country) DO UPDATE SET count = tally.count + EXCLUDED.count;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION rollups_engagement_pair_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rollups_engagementpairtally;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS rollups_engagement_pair_insert ON engagements_engagement;
CREATE TRIGGER rollups_engagement_pair_insert AFTER INSERT ON engagements_engagement REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_pair_insert();

DROP TRIGGER IF EXISTS rollups_engagement_pair_delete ON engagements_engagement;
CREATE TRIGGER rollups_engagement_pair_delete AFTER DELETE ON engagements_engagement REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_pair_delete();

DROP TRIGGER IF EXISTS rollups_engagement_pair_update ON engagements_engagement;
CREATE TRIGGER rollups_engagement_pair_update AFTER UPDATE ON engagements_engagement REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_pair_update();

DROP TRIGGER IF EXISTS rollups_engagement_pair_truncate ON engagements_engagement;
CREATE TRIGGER rollups_engagement_pair_truncate AFTER TRUNCATE ON engagements_engagement 
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_engagement_pair_truncate();

INSERT INTO rollups_engagementpairtally (city_id, visibility, topic, country, count)
SELECT r.city_id, r.visibility, t.topic, c.country, count(*)
FROM engagements_engagement AS r
CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country)
GROUP BY 1, 2, 3, 4;
"""

REMOVE = "\n".join(
    f"DROP TRIGGER IF EXISTS {name} ON engagements_engagement; DROP FUNCTION IF EXISTS {name}();"
    for name in (
        "rollups_engagement_pair_insert",
        "rollups_engagement_pair_delete",
        "rollups_engagement_pair_update",
        "rollups_engagement_pair_truncate",
    )
)


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0008_uncounted_updates_skip_tallies"),
        ("engagements", "0005_filter_arrays_follow_truncate"),
        ("cities", "0002_topics_and_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="EngagementPairTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("visibility", models.CharField(max_length=10)),
                ("topic", models.CharField(max_length=40)),
                ("country", models.CharField(max_length=2)),
                ("count", models.BigIntegerField(default=0)),
                (
                    "city",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="+",
                        to="cities.city",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["topic", "country"], name="engagementpairtally_pair_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("city", "visibility", "topic", "country"), name="engagementpairtally_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(on_postgresql(APPLY), on_postgresql(REMOVE)),
    ]
