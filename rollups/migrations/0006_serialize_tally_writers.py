"""Writers that change counted engagements take one transaction-level lock before any rollup row.

Every new engagement adds to the same few nationwide tallies (its visibility's `unreviewed`
review status, this month, its kind), so writers already wait for one another there until
commit. Without a common first lock they take tally rows in an order that depends on what each
statement writes, and two transactions can each hold a row the other needs next: PostgreSQL
then aborts one of them. Taking one advisory lock first, in a trigger that fires before the
others (triggers fire in name order), makes the wait an orderly queue. Reads never wait, and an
update that changes no counted column (a title, a summary) takes no lock.
"""

from django.db import migrations

from utilities.schema import on_postgresql

LOCK = "PERFORM pg_advisory_xact_lock(hashtext('rollups_engagement_tallies'));"
COUNTED = ("id", "city_id", "visibility", "start_date", "kind", "review_status")
CHANGED = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in COUNTED)
TABLES = [
    "engagements_engagement",
    "engagements_engagement_topics",
    "engagements_engagement_counterpart_countries",
]


def function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END
$$;"""


def triggers(table: str) -> list[tuple[str, str, str, str]]:
    """(name, event, transition tables, body) of the locking triggers on `table`; the names
    sort before `rollups_engagement_count_*` and `rollups_*_tally_*`."""
    short = table.removeprefix("engagements_")
    if table == "engagements_engagement":
        update = f"""IF EXISTS (SELECT 1 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
                      WHERE {CHANGED}) THEN
        {LOCK}
    END IF;"""
    else:
        update = f"IF EXISTS (SELECT 1 FROM new_rows) THEN {LOCK} END IF;"
    return [
        (f"rollups_0_{short}_insert_lock", "INSERT", "REFERENCING NEW TABLE AS new_rows",
         f"IF EXISTS (SELECT 1 FROM new_rows) THEN {LOCK} END IF;"),
        (f"rollups_0_{short}_delete_lock", "DELETE", "REFERENCING OLD TABLE AS old_rows",
         f"IF EXISTS (SELECT 1 FROM old_rows) THEN {LOCK} END IF;"),
        (f"rollups_0_{short}_update_lock", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", update),
    ]  # fmt: skip


ALL = [(table, *trigger) for table in TABLES for trigger in triggers(table)]

APPLY = "\n".join(
    function(name, body)
    + f"\nCREATE TRIGGER {name} AFTER {event} ON {table} {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
    for table, name, event, referencing, body in ALL
)
REMOVE = "\n".join(
    f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();" for table, name, *_ in ALL
)


class Migration(migrations.Migration):
    dependencies = [("rollups", "0005_engagement_tally_triggers")]

    operations = [migrations.RunPython(on_postgresql(APPLY), on_postgresql(REMOVE))]
