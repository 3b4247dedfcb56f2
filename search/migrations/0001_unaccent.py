from django.db import migrations


def create_extension(apps, schema_editor):
    # Global search ignores accents with PostgreSQL's own `unaccent` (search.text).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_extension, migrations.RunPython.noop)]
