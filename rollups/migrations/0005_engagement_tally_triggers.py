"""Triggers that keep the engagement tallies (`rollups_engagementtally` nationwide and
`rollups_cityengagementtally` per owning city) exact, and the tallies of the rows already there.

Statement-level triggers with transition tables, as for `rollups_engagementcount`: a COPY or a
bulk statement costs one grouped upsert per tier. Each trigger turns the rows its statement
changed into deltas (city, visibility, dimension, key, +1 or -1) and adds them to both tiers, city
tier first, in key order, so concurrent writers lock tally rows in one order.

- The engagement table gives month, year, kind and review status from its own rows, and topic,
  counterpart country and region by joining the many-to-many rows present at that moment; an
  update changes topic, country and region tallies only where it moved a record to another city
  or visibility.
- The topic and counterpart-country tables give their deltas joined with the engagement present
  at that moment. Whichever of the two Django deletes first (it deletes the many-to-many rows,
  then the engagement; deferred foreign keys allow the other order in raw SQL), exactly one of the
  two triggers still sees both and counts the change once.
- A region counts an engagement once however many of its counterparts lie there: the delta for
  (engagement, region) is whether it has a counterpart there after the statement minus whether it
  had one before.
- A country moved to another region rebuilds the region tallies.
"""

from django.db import migrations

from utilities.schema import on_postgresql

RELATIONS = {
    "topic": ("engagements_engagement_topics", "topic_id"),
    "country": ("engagements_engagement_counterpart_countries", "country_id"),
}
COUNTRIES = RELATIONS["country"][0]


def base_deltas(rows: str, sign: str) -> str:
    """Deltas of the dimensions an engagement row carries itself."""
    return f"""
        SELECT r.city_id, r.visibility::text AS visibility, d.dimension, d.key, {sign} AS delta
        FROM {rows} AS r CROSS JOIN LATERAL (VALUES
            ('month', to_char(r.start_date, 'YYYY-MM')),
            ('year', to_char(r.start_date, 'YYYY')),
            ('kind', r.kind::text),
            ('review_status', r.review_status::text)
        ) AS d (dimension, key)"""


def related_deltas(rows: str, sign: str) -> str:
    """Deltas of topics, counterpart countries and regions of the engagements in `rows` (which has
    id, city_id and visibility), from the many-to-many rows present now."""
    return f"""
        SELECT r.city_id, r.visibility::text, 'topic', t.topic_id::text, {sign}
        FROM {rows} AS r JOIN engagements_engagement_topics AS t ON t.engagement_id = r.id
        UNION ALL
        SELECT r.city_id, r.visibility::text, 'country', c.country_id::text, {sign}
        FROM {rows} AS r JOIN {COUNTRIES} AS c ON c.engagement_id = r.id
        UNION ALL
        SELECT g.city_id, g.visibility::text, 'region', g.region::text, {sign}
        FROM (
            SELECT DISTINCT r.id, r.city_id, r.visibility, k.region
            FROM {rows} AS r
            JOIN {COUNTRIES} AS c ON c.engagement_id = r.id
            JOIN cities_country AS k ON k.iso2 = c.country_id
        ) AS g"""


def apply(deltas: str) -> str:
    """One statement adding `deltas` to both tiers."""
    return f"""
    WITH deltas AS MATERIALIZED ({deltas}),
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
    ON CONFLICT (visibility, dimension, key) DO UPDATE SET count = tally.count + EXCLUDED.count;"""


def function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END
$$;"""


def trigger(name: str, table: str, event: str, referencing: str = "") -> str:
    return f"""
CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();"""


MOVED = """(
            SELECT o.id, o.city_id AS old_city, o.visibility AS old_visibility,
                   n.city_id AS new_city, n.visibility AS new_visibility
            FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
            WHERE o.city_id IS DISTINCT FROM n.city_id OR o.visibility IS DISTINCT FROM n.visibility
        )"""
MOVED_FROM = f"(SELECT id, old_city AS city_id, old_visibility AS visibility FROM {MOVED} AS m)"
MOVED_TO = f"(SELECT id, new_city AS city_id, new_visibility AS visibility FROM {MOVED} AS m)"


def relation_deltas(dimension: str, table: str, column: str, event: str) -> str:
    """Deltas of one many-to-many table's statement, joined with the engagements present now."""
    parts = []
    if event in ("INSERT", "UPDATE"):
        parts.append(f"SELECT engagement_id, {column}, 1 AS delta FROM new_rows")
    if event in ("DELETE", "UPDATE"):
        parts.append(f"SELECT engagement_id, {column}, -1 AS delta FROM old_rows")
    changes = " UNION ALL ".join(parts)
    deltas = f"""
        SELECT e.city_id, e.visibility::text AS visibility, '{dimension}' AS dimension,
               c.{column}::text AS key, c.delta
        FROM ({changes}) AS c JOIN engagements_engagement AS e ON e.id = c.engagement_id"""
    if dimension == "country":
        # Per (engagement, region): counterparts there now, and how many the statement added;
        # both grouped set-wise (a correlated count per engagement costs seconds on a COPY).
        deltas += f"""
        UNION ALL
        SELECT e.city_id, e.visibility::text, 'region', s.region::text,
               (coalesce(n.now, 0) > 0)::int - (coalesce(n.now, 0) - s.added > 0)::int
        FROM (
            SELECT c.engagement_id, k.region, sum(c.delta) AS added
            FROM ({changes}) AS c JOIN cities_country AS k ON k.iso2 = c.country_id
            GROUP BY c.engagement_id, k.region HAVING sum(c.delta) <> 0
        ) AS s
        LEFT JOIN (
            SELECT t.engagement_id, k.region, count(*) AS now
            FROM {table} AS t JOIN cities_country AS k ON k.iso2 = t.country_id
            WHERE t.engagement_id IN (SELECT c.engagement_id FROM ({changes}) AS c)
            GROUP BY t.engagement_id, k.region
        ) AS n ON n.engagement_id = s.engagement_id AND n.region = s.region
        JOIN engagements_engagement AS e ON e.id = s.engagement_id"""
    return deltas


REBUILD = f"""
CREATE OR REPLACE FUNCTION rollups_engagement_tally_rebuild(dimensions text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rollups_cityengagementtally WHERE dimension = ANY(dimensions);
    DELETE FROM rollups_engagementtally WHERE dimension = ANY(dimensions);
    INSERT INTO rollups_cityengagementtally (city_id, visibility, dimension, key, count)
    SELECT city_id, visibility, dimension, key, sum(delta) FROM (
        {base_deltas("engagements_engagement", "1")}
        UNION ALL
        {related_deltas("engagements_engagement", "1")}
    ) AS deltas
    WHERE dimension = ANY(dimensions)
    GROUP BY city_id, visibility, dimension, key;
    INSERT INTO rollups_engagementtally (visibility, dimension, key, count)
    SELECT visibility, dimension, key, sum(count) FROM rollups_cityengagementtally
    WHERE dimension = ANY(dimensions)
    GROUP BY visibility, dimension, key;
END
$$;"""

ALL_DIMENSIONS = "ARRAY['month', 'year', 'kind', 'review_status', 'topic', 'country', 'region']"
TRIGGERS = [
    # (trigger and function name, table, event, transition tables, body)
    (
        "rollups_engagement_tally_insert",
        "engagements_engagement",
        "INSERT",
        "REFERENCING NEW TABLE AS new_rows",
        apply(base_deltas("new_rows", "1") + " UNION ALL " + related_deltas("new_rows", "1")),
    ),
    (
        "rollups_engagement_tally_delete",
        "engagements_engagement",
        "DELETE",
        "REFERENCING OLD TABLE AS old_rows",
        apply(base_deltas("old_rows", "-1") + " UNION ALL " + related_deltas("old_rows", "-1")),
    ),
    (
        "rollups_engagement_tally_update",
        "engagements_engagement",
        "UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        apply(
            " UNION ALL ".join(
                [
                    base_deltas("old_rows", "-1"),
                    base_deltas("new_rows", "1"),
                    related_deltas(MOVED_FROM, "-1"),
                    related_deltas(MOVED_TO, "1"),
                ]
            )
        ),
    ),
    (
        "rollups_engagement_tally_truncate",
        "engagements_engagement",
        "TRUNCATE",
        "",
        "DELETE FROM rollups_cityengagementtally; DELETE FROM rollups_engagementtally;",
    ),
    *[
        (
            f"rollups_{dimension}_tally_{event.lower()}",
            table,
            event,
            {
                "INSERT": "REFERENCING NEW TABLE AS new_rows",
                "DELETE": "REFERENCING OLD TABLE AS old_rows",
                "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            }[event],
            apply(relation_deltas(dimension, table, column, event)),
        )
        for dimension, (table, column) in RELATIONS.items()
        for event in ("INSERT", "DELETE", "UPDATE")
    ],
    (
        "rollups_topic_tally_truncate",
        RELATIONS["topic"][0],
        "TRUNCATE",
        "",
        "PERFORM rollups_engagement_tally_rebuild(ARRAY['topic']);",
    ),
    (
        "rollups_country_tally_truncate",
        COUNTRIES,
        "TRUNCATE",
        "",
        "PERFORM rollups_engagement_tally_rebuild(ARRAY['country', 'region']);",
    ),
    (
        "rollups_region_tally_update",
        "cities_country",
        # PostgreSQL allows no column list beside transition tables: the body compares regions.
        "UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        """IF EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.iso2 = o.iso2
                      WHERE o.region IS DISTINCT FROM n.region) THEN
        PERFORM rollups_engagement_tally_rebuild(ARRAY['region']);
    END IF;""",
    ),
]

LOCKED = ["engagements_engagement", *(table for table, _ in RELATIONS.values())]

APPLY = "\n".join(
    [
        REBUILD,
        *(function(name, body) + trigger(name, table, event, referencing) for name, table, event, referencing, body in TRIGGERS),
        f"LOCK TABLE {', '.join(LOCKED)} IN SHARE MODE;",
        f"SELECT rollups_engagement_tally_rebuild({ALL_DIMENSIONS});",
        # Freshly filled: give the planner their sizes before the first dashboard asks.
        "ANALYZE rollups_engagementtally, rollups_cityengagementtally;",
    ]
)

REMOVE = "\n".join(
    [
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();" for name, table, *_ in TRIGGERS),
        "DROP FUNCTION IF EXISTS rollups_engagement_tally_rebuild(text[]);",
    ]
)


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0004_engagement_tallies"),
        ("rollups", "0003_relation_lookup_indexes"),
        ("engagements", "0001_initial"),
        ("cities", "0002_topics_and_search_index"),
    ]

    operations = [migrations.RunPython(on_postgresql(APPLY), on_postgresql(REMOVE))]
