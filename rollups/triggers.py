"""Every PostgreSQL function and trigger that keeps the rollups exact, as the database has them now.

The migrations that installed them (0002 counts, 0005 tallies, 0006 the lock before them, 0007 a
faster region delta) keep their own frozen copies, as migrations must: they build the same schema
whatever this file says later. This module is where a reader finds the current definitions in one
place, and `tests/rollups/test_trigger_definitions.py` fails when a migrated database's functions
or triggers differ from them. To change one: change it here, then add a migration that runs the
SQL `python -m rollups.triggers NAME ...` prints, pasted into the migration as text.

All triggers are statement-level with transition tables: one COPY or bulk statement of a million
rows costs one grouped upsert per rollup table, not a million.

- `rollups_engagementcount` (engagements per city and visibility): an update that changes neither
  city nor visibility nets to nothing and writes nothing (no row lock on the count).
- `rollups_engagementtally` (nationwide) and `rollups_cityengagementtally` (per owning city): each
  trigger turns the rows its statement changed into deltas (city, visibility, dimension, key, +1 or
  -1) and adds them to both tiers, city tier first, in key order, so concurrent writers lock tally
  rows in one order.
  - The engagement table gives month, year, kind and review status from its own rows, and topic,
    counterpart country and region by joining the many-to-many rows present at that moment; an
    update changes topic, country and region tallies only where it moved a record to another city
    or visibility.
  - The topic and counterpart-country tables give their deltas joined with the engagement present
    at that moment. Whichever of the two Django deletes first (it deletes the many-to-many rows,
    then the engagement; deferred foreign keys allow the other order in raw SQL), exactly one of
    the two triggers still sees both and counts the change once.
  - A region counts an engagement once however many of its counterparts lie there: the delta for
    (engagement, region) is whether it has a counterpart there after the statement minus whether
    it had one before, grouped set-wise (a correlated count per engagement costs seconds on a COPY).
  - A country moved to another region rebuilds the region tallies.
- An update of engagements that changes no counted column (a title, the filter arrays that
  engagements/migrations/0004 keeps) returns before computing any delta.
- `rollups_engagementpairtally` (per owning city, visibility, topic and counterpart country): read
  from the filter arrays on the engagement rows themselves, as a statement inserts, deletes or
  changes them (the arrays' triggers rewrite the rows whose topics or countries changed), so a
  record counts once per pair it holds. An update that changes none of the four columns returns
  at once; one that changes the arrays alone takes the writers' lock here.
- The locks: every writer of counted engagements takes one transaction-level advisory lock before
  any rollup row, in triggers whose names sort first (triggers fire in name order); so does a
  topic's new slug, which rewrites its records' arrays and through them the pair tallies. Without a
  common first lock, writers take tally rows in an order that depends on what each statement
  writes, and two transactions can each hold a row the other needs next. An update that changes no
  counted column (a title, a summary) takes no lock.
"""

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Function:
    """A PL/pgSQL function; `source` is its text between the `$$`."""

    name: str
    source: str
    arguments: str = ""
    returns: str = "trigger"

    def sql(self) -> str:
        return (
            f"CREATE OR REPLACE FUNCTION {self.name}({self.arguments}) RETURNS {self.returns}\n"
            f"LANGUAGE plpgsql AS $${self.source}$$;"
        )


@dataclass(frozen=True)
class Trigger:
    """A statement-level AFTER trigger."""

    name: str
    table: str
    event: str
    referencing: str
    function: str

    def sql(self) -> str:
        return (
            f"CREATE TRIGGER {self.name} AFTER {self.event} ON {self.table} {self.referencing}\n"
            f"    FOR EACH STATEMENT EXECUTE FUNCTION {self.function}();"
        )


TRANSITION_TABLES = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "TRUNCATE": "",
}


def trigger_function(body: str) -> str:
    """The source of a trigger function running `body`."""
    return f"""
BEGIN
    {body}
    RETURN NULL;
END
"""


# --- Engagement counts (rollups_engagementcount) ---------------------------------------------------

COUNT_FUNCTION = Function(
    "rollups_engagement_count_apply",
    """
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
""",
)
COUNT_TRIGGERS = [
    Trigger(
        f"rollups_engagement_count_{event.lower()}",
        "engagements_engagement",
        event,
        TRANSITION_TABLES[event],
        COUNT_FUNCTION.name,
    )
    for event in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
]


# --- Engagement tallies (rollups_engagementtally, rollups_cityengagementtally) ----------------------

RELATIONS = {
    "topic": ("engagements_engagement_topics", "topic_id"),
    "country": ("engagements_engagement_counterpart_countries", "country_id"),
}
COUNTRIES = RELATIONS["country"][0]
ALL_DIMENSIONS = ("month", "year", "kind", "review_status", "topic", "country", "region")


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
        # Per (engagement, region): counterparts there now, and how many the statement added.
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


TALLY_REBUILD = Function(
    "rollups_engagement_tally_rebuild",
    f"""
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
""",
    arguments="dimensions text[]",
    returns="void",
)

# The engagement columns the counts and tallies depend on, and "one of them changed" (old and new rows).
COUNTED = ("id", "city_id", "visibility", "start_date", "kind", "review_status")
CHANGED = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in COUNTED)

# (trigger and function name, table, event, body)
_TALLY_TRIGGERS = [
    (
        "rollups_engagement_tally_insert",
        "engagements_engagement",
        "INSERT",
        apply(base_deltas("new_rows", "1") + " UNION ALL " + related_deltas("new_rows", "1")),
    ),
    (
        "rollups_engagement_tally_delete",
        "engagements_engagement",
        "DELETE",
        apply(base_deltas("old_rows", "-1") + " UNION ALL " + related_deltas("old_rows", "-1")),
    ),
    (
        "rollups_engagement_tally_update",
        "engagements_engagement",
        "UPDATE",
        # An update of no counted column (a title; the filter arrays' sync) changes no tally:
        # a hash join says so in milliseconds, where the deltas take seconds per 10,000 rows.
        f"""IF NOT EXISTS (SELECT 1 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
                      WHERE {CHANGED}) THEN
        RETURN NULL;
    END IF;"""
        + apply(
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
        "DELETE FROM rollups_cityengagementtally; DELETE FROM rollups_engagementtally;",
    ),
    *[
        (
            f"rollups_{dimension}_tally_{event.lower()}",
            table,
            event,
            apply(relation_deltas(dimension, table, column, event)),
        )
        for dimension, (table, column) in RELATIONS.items()
        for event in ("INSERT", "DELETE", "UPDATE")
    ],
    (
        "rollups_topic_tally_truncate",
        RELATIONS["topic"][0],
        "TRUNCATE",
        "PERFORM rollups_engagement_tally_rebuild(ARRAY['topic']);",
    ),
    (
        "rollups_country_tally_truncate",
        COUNTRIES,
        "TRUNCATE",
        "PERFORM rollups_engagement_tally_rebuild(ARRAY['country', 'region']);",
    ),
    (
        "rollups_region_tally_update",
        "cities_country",
        # PostgreSQL allows no column list beside transition tables: the body compares regions.
        "UPDATE",
        """IF EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.iso2 = o.iso2
                      WHERE o.region IS DISTINCT FROM n.region) THEN
        PERFORM rollups_engagement_tally_rebuild(ARRAY['region']);
    END IF;""",
    ),
]
TALLY_FUNCTIONS = [Function(name, trigger_function(body)) for name, _, _, body in _TALLY_TRIGGERS]
TALLY_TRIGGERS = [
    Trigger(name, table, event, TRANSITION_TABLES[event], name) for name, table, event, _ in _TALLY_TRIGGERS
]


# --- The lock every writer of counted engagements takes first ---------------------------------------

LOCK = "PERFORM pg_advisory_xact_lock(hashtext('rollups_engagement_tallies'));"
LOCKED_TABLES = [
    "engagements_engagement",
    "engagements_engagement_topics",
    "engagements_engagement_counterpart_countries",
]


def _lock_triggers(table: str) -> list[tuple[str, str, str, str]]:
    """(name, table, event, body) of the locking triggers on `table`; the names sort before
    `rollups_engagement_count_*` and `rollups_*_tally_*`."""
    short = table.removeprefix("engagements_")
    if table == "engagements_engagement":
        update = f"""IF EXISTS (SELECT 1 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
                      WHERE {CHANGED}) THEN
        {LOCK}
    END IF;"""
    else:
        update = f"IF EXISTS (SELECT 1 FROM new_rows) THEN {LOCK} END IF;"
    return [
        (f"rollups_0_{short}_insert_lock", table, "INSERT", f"IF EXISTS (SELECT 1 FROM new_rows) THEN {LOCK} END IF;"),
        (f"rollups_0_{short}_delete_lock", table, "DELETE", f"IF EXISTS (SELECT 1 FROM old_rows) THEN {LOCK} END IF;"),
        (f"rollups_0_{short}_update_lock", table, "UPDATE", update),
    ]


_LOCK_TRIGGERS = [trigger for table in LOCKED_TABLES for trigger in _lock_triggers(table)] + [
    # A topic's new slug rewrites the filter arrays of its records, and through them the pair
    # tallies, under row locks on those records: the writers' lock must come before them.
    (
        "rollups_0_cities_topic_update_lock",
        "cities_topic",
        "UPDATE",
        f"""IF EXISTS (SELECT 1 FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                      WHERE o.slug IS DISTINCT FROM n.slug) THEN
        {LOCK}
    END IF;""",
    )
]
LOCK_FUNCTIONS = [Function(name, trigger_function(body)) for name, _, _, body in _LOCK_TRIGGERS]
LOCK_TRIGGERS = [
    Trigger(name, table, event, TRANSITION_TABLES[event], name) for name, table, event, _ in _LOCK_TRIGGERS
]


# --- Topic and country pairs (rollups_engagementpairtally) -------------------------------------------

# The engagement columns a pair tally depends on: the owning city, the visibility and the two
# filter arrays, which the arrays' own triggers keep exact (engagements/migrations/0004).
PAIRED = ("city_id", "visibility", "topic_slugs", "counterpart_country_codes")
PAIR_CHANGED = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in PAIRED)


def pair_deltas(rows: str, sign: str, where: str = "") -> str:
    """One delta per (topic, country) pair of each engagement in `rows` (aliased `r`)."""
    return f"""
        SELECT r.city_id, r.visibility::text AS visibility, t.topic, c.country, {sign} AS delta
        FROM {rows} CROSS JOIN LATERAL unnest(r.topic_slugs) AS t (topic)
        CROSS JOIN LATERAL unnest(r.counterpart_country_codes) AS c (country){where}"""


def pair_apply(deltas: str) -> str:
    return f"""
    INSERT INTO rollups_engagementpairtally AS tally (city_id, visibility, topic, country, count)
    SELECT city_id, visibility, topic, country, sum(delta) FROM ({deltas}) AS deltas
    GROUP BY city_id, visibility, topic, country HAVING sum(delta) <> 0
    ORDER BY city_id, visibility, topic, country
    ON CONFLICT (city_id, visibility, topic, country) DO UPDATE SET count = tally.count + EXCLUDED.count;"""


PAIRED_ROWS = "old_rows AS o JOIN new_rows AS n ON n.id = o.id"
_PAIR_TRIGGERS = [
    (
        "rollups_engagement_pair_insert",
        "engagements_engagement",
        "INSERT",
        pair_apply(pair_deltas("new_rows AS r", "1")),
    ),
    (
        "rollups_engagement_pair_delete",
        "engagements_engagement",
        "DELETE",
        pair_apply(pair_deltas("old_rows AS r", "-1")),
    ),
    (
        "rollups_engagement_pair_update",
        "engagements_engagement",
        "UPDATE",
        # The arrays' sync rewrites records without touching a counted column, so without the
        # lock the other triggers take: it is taken here (again, if the statement already did).
        f"""IF NOT EXISTS (SELECT 1 FROM {PAIRED_ROWS} WHERE {PAIR_CHANGED}) THEN
        RETURN NULL;
    END IF;
    {LOCK}"""
        + pair_apply(
            pair_deltas(f"{PAIRED_ROWS} CROSS JOIN LATERAL (SELECT o.*) AS r", "-1", f" WHERE {PAIR_CHANGED}")
            + " UNION ALL "
            + pair_deltas(f"{PAIRED_ROWS} CROSS JOIN LATERAL (SELECT n.*) AS r", "1", f" WHERE {PAIR_CHANGED}")
        ),
    ),
    (
        "rollups_engagement_pair_truncate",
        "engagements_engagement",
        "TRUNCATE",
        "DELETE FROM rollups_engagementpairtally;",
    ),
]
PAIR_FUNCTIONS = [Function(name, trigger_function(body)) for name, _, _, body in _PAIR_TRIGGERS]
PAIR_TRIGGERS = [
    Trigger(name, table, event, TRANSITION_TABLES[event], name) for name, table, event, _ in _PAIR_TRIGGERS
]


# --- All of them --------------------------------------------------------------------------------------

FUNCTIONS = {f.name: f for f in [COUNT_FUNCTION, TALLY_REBUILD, *TALLY_FUNCTIONS, *LOCK_FUNCTIONS, *PAIR_FUNCTIONS]}
TRIGGERS = {t.name: t for t in [*COUNT_TRIGGERS, *TALLY_TRIGGERS, *LOCK_TRIGGERS, *PAIR_TRIGGERS]}


def sql(*names: str) -> str:
    """The statements that (re)create the named functions and triggers (all without names), for
    a migration to freeze: functions are replaced in place, triggers dropped and created."""
    unknown = [name for name in names if name not in FUNCTIONS and name not in TRIGGERS]
    if unknown:
        raise KeyError(f"No rollup function or trigger named {', '.join(unknown)}")
    names = names or (*FUNCTIONS, *TRIGGERS)
    statements = [FUNCTIONS[name].sql() for name in names if name in FUNCTIONS]
    for name in names:
        if name in TRIGGERS:
            trigger = TRIGGERS[name]
            statements.append(f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table};\n{trigger.sql()}")
    return "\n\n".join(statements)


if __name__ == "__main__":
    print(sql(*sys.argv[1:]))
