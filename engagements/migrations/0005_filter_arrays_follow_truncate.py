"""A many-to-many table emptied by TRUNCATE (which fires no delete trigger) empties the array it
feeds on every record, as deleting its rows one statement at a time would: the arrays stay exact
whatever empties the table, and so do the counts read from them."""

from django.db import migrations

from utilities.schema import on_postgresql

# (owner table, through table, array)
ARRAYS = [
    (owner, f"{owner}_{relation}", array)
    for owner in ("engagements_engagement", "engagements_agreement")
    for relation, array in (("topics", "topic_slugs"), ("counterpart_countries", "counterpart_country_codes"))
]


def apply_sql() -> str:
    statements = []
    for owner, through, array in ARRAYS:
        name = f"{through}_clear_{array}"
        statements.append(f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {owner} SET {array} = '{{}}' WHERE {array} <> '{{}}';
    RETURN NULL;
END
$$;
CREATE TRIGGER sync_{array}_truncate AFTER TRUNCATE ON {through}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();""")
    return "\n".join(statements)


def remove_sql() -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS sync_{array}_truncate ON {through}; DROP FUNCTION IF EXISTS {through}_clear_{array}();"
        for _owner, through, array in ARRAYS
    )


class Migration(migrations.Migration):
    dependencies = [("engagements", "0004_filter_arrays")]

    operations = [migrations.RunPython(on_postgresql(apply_sql()), on_postgresql(remove_sql()))]
