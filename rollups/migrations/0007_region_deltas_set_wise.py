"""The counterpart-country triggers work out region deltas set-wise: a COPY of 50,000 country
rows took 13 s with a correlated count per engagement, well under one with grouped joins.
Databases migrated before get the functions 0005 now creates."""

import importlib

from django.db import migrations

TRIGGERS = importlib.import_module("rollups.migrations.0005_engagement_tally_triggers")

APPLY = "\n".join(
    TRIGGERS.function(name, body)
    for name, table, _, _, body in TRIGGERS.TRIGGERS
    if table == TRIGGERS.COUNTRIES and name.startswith("rollups_country_tally_") and not name.endswith("_truncate")
)


class Migration(migrations.Migration):
    dependencies = [("rollups", "0006_serialize_tally_writers")]

    operations = [migrations.RunPython(TRIGGERS.on_postgresql(APPLY), migrations.RunPython.noop)]
