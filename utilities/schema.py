"""Schema operations for migrations that only PostgreSQL needs (triggers, covering indexes)."""


def on_postgresql(sql: str):
    """A `RunPython` function running `sql` on PostgreSQL and nothing elsewhere: SQLite (`make
    run`) has no triggers to keep and answers its lists by joins."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run
