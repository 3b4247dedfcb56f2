"""Each agreement and engagement carries its topic slugs and counterpart country codes as arrays,
kept exact at every commit by PostgreSQL triggers, with a GIN index each: filters on topic and
counterpart country (and the two together) answer from the indexes instead of probing the
many-to-many tables row by row (`engagements/filter_arrays.py` reads them).

The arrays are derived data, like the rollups' tallies: no model field (Python never writes them,
so a save cannot write back a stale copy), sorted, recomputed from the many-to-many rows (in
byte order, `COLLATE "C"`, whatever the database's collation) by statement-level triggers on those tables (a COPY of a million rows is one grouped update). A
trigger first locks the records whose rows its statement changed, in id order, and only then
reads their rows, in a statement of its own (a new snapshot): two transactions changing the same
record's topics queue on its row, and the second reads what the first committed. A topic whose
slug changes rewrites the arrays that hold it. On SQLite nothing is added; the filters join.
"""

from django.db import migrations

from utilities.schema import on_postgresql

# (owner table, owner column in the through table, through table, through column, array, value)
ARRAYS = [
    (owner, f"{model}_id", f"{owner}_{relation}", column, array, value)
    for model, owner in (("engagement", "engagements_engagement"), ("agreement", "engagements_agreement"))
    for relation, column, array, value in (
        ("topics", "topic_id", "topic_slugs", "(SELECT t.slug FROM cities_topic AS t WHERE t.id = x.topic_id)"),
        ("counterpart_countries", "country_id", "counterpart_country_codes", "x.country_id"),
    )
]


def recompute(owner: str, owner_column: str, through: str, array: str, value: str, ids: str) -> str:
    """Lock the records `ids` (an int array expression) in id order, then set `array` from their
    rows as a new statement sees them."""
    return f"""
    PERFORM 1 FROM {owner} WHERE id = ANY({ids}) ORDER BY id FOR UPDATE;
    UPDATE {owner} AS r SET {array} = s.value
    FROM (
        SELECT i.id, coalesce(array_agg({value}::text ORDER BY {value}::text COLLATE "C")
                              FILTER (WHERE x.{owner_column} IS NOT NULL), '{{}}') AS value
        FROM unnest({ids}) AS i (id)
        LEFT JOIN {through} AS x ON x.{owner_column} = i.id
        GROUP BY i.id
    ) AS s
    WHERE r.id = s.id AND r.{array} IS DISTINCT FROM s.value;"""


def sync_function(owner, owner_column, through, column, array, value) -> tuple[str, str]:
    name = f"{through}_sync_{array}"
    body = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT {owner_column} FROM new_rows ORDER BY 1);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT {owner_column} FROM old_rows ORDER BY 1);
    ELSE
        ids := ARRAY(SELECT {owner_column} FROM new_rows UNION SELECT {owner_column} FROM old_rows ORDER BY 1);
    END IF;
    IF cardinality(ids) > 0 THEN
        {recompute(owner, owner_column, through, array, value, "ids")}
    END IF;
    RETURN NULL;
END
$$;"""
    return name, body


TRANSITION_TABLES = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def apply_sql() -> str:
    statements = []
    owners = dict.fromkeys(owner for owner, *_ in ARRAYS)
    for owner in owners:
        statements.append(
            f"ALTER TABLE {owner} ADD COLUMN topic_slugs text[] NOT NULL DEFAULT '{{}}', "
            "ADD COLUMN counterpart_country_codes text[] NOT NULL DEFAULT '{}';"
        )
    for owner in owners:
        # Both arrays of the records that have rows now, in one pass over the table; every
        # other record keeps the empty defaults.
        backfill = [entry for entry in ARRAYS if entry[0] == owner]
        values = ", ".join(
            f"""coalesce((SELECT array_agg({value}::text ORDER BY {value}::text COLLATE "C") FROM {through} AS x
                          WHERE x.{owner_column} = r.id), '{{}}')"""
            for _, owner_column, through, _, _, value in backfill
        )
        arrays = ", ".join(array for *_, array, _ in backfill)
        exists = " OR ".join(
            f"EXISTS (SELECT 1 FROM {through} AS x WHERE x.{owner_column} = r.id)"
            for _, owner_column, through, *_ in backfill
        )
        statements.append(f"UPDATE {owner} AS r SET ({arrays}) = ({values}) WHERE {exists};")
    for owner, owner_column, through, column, array, value in ARRAYS:
        name, body = sync_function(owner, owner_column, through, column, array, value)
        statements.append(body)
        for event, referencing in TRANSITION_TABLES.items():
            # Named to fire after the rollups' triggers on the same table (they fire in name
            # order): the tallies' common lock first, then the records' rows.
            statements.append(
                f"CREATE TRIGGER sync_{array}_{event.lower()} AFTER {event} ON {through} {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
            )
    # The backfill's deferred checks run now: an index cannot be built over pending trigger events.
    statements.append("SET CONSTRAINTS ALL IMMEDIATE;")
    for owner in owners:
        short = owner.removeprefix("engagements_")
        for array in ("topic_slugs", "counterpart_country_codes"):
            statements.append(
                f"CREATE INDEX {short}_{array}_gin ON {owner} USING gin ({array}) WITH (fastupdate = off);"
            )
    # A topic's new slug, in every array that held the old one.
    rename = "\n".join(
        f"""
        ids := ARRAY(SELECT id FROM {owner} WHERE {array} && renamed ORDER BY id);
        IF cardinality(ids) > 0 THEN
            {recompute(owner, owner_column, through, array, value, "ids")}
        END IF;"""
        for owner, owner_column, through, column, array, value in ARRAYS
        if array == "topic_slugs"
    )
    statements.append(f"""
CREATE OR REPLACE FUNCTION cities_topic_sync_topic_slugs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    renamed text[];
    ids bigint[];
BEGIN
    renamed := ARRAY(SELECT o.slug::text FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                     WHERE o.slug IS DISTINCT FROM n.slug);
    IF cardinality(renamed) > 0 THEN
        {rename}
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sync_topic_slugs_update AFTER UPDATE ON cities_topic
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cities_topic_sync_topic_slugs();""")
    return "\n".join(statements)


def remove_sql() -> str:
    statements = [
        "DROP TRIGGER IF EXISTS sync_topic_slugs_update ON cities_topic;",
        "DROP FUNCTION IF EXISTS cities_topic_sync_topic_slugs();",
    ]
    for _owner, _owner_column, through, _column, array, _value in ARRAYS:
        for event in TRANSITION_TABLES:
            statements.append(f"DROP TRIGGER IF EXISTS sync_{array}_{event.lower()} ON {through};")
        statements.append(f"DROP FUNCTION IF EXISTS {through}_sync_{array}();")
    for owner in dict.fromkeys(owner for owner, *_ in ARRAYS):
        statements.append(f"ALTER TABLE {owner} DROP COLUMN topic_slugs, DROP COLUMN counterpart_country_codes;")
    return "\n".join(statements)


class Migration(migrations.Migration):
    dependencies = [("engagements", "0003_participant_contact"), ("cities", "0002_topics_and_search_index")]

    operations = [migrations.RunPython(on_postgresql(apply_sql()), on_postgresql(remove_sql()))]
