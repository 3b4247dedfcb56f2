from django.db import migrations

TOPICS = [
    ("climate", "Climate"),
    ("trade-investment", "Trade and investment"),
    ("public-health", "Public health"),
    ("cybersecurity", "Cybersecurity"),
    ("security-counterterrorism", "Security and counterterrorism"),
    ("migration-refugees", "Migration and refugees"),
    ("human-rights", "Human rights"),
    ("culture-education", "Culture and education"),
    ("tourism", "Tourism"),
    ("technology-innovation", "Technology and innovation"),
    ("urban-infrastructure", "Urban infrastructure"),
    ("sustainable-development", "Sustainable development"),
    ("peace-reconciliation", "Peace and reconciliation"),
    ("other", "Other"),
]


def add_topics(apps, schema_editor):
    Topic = apps.get_model("cities", "Topic")
    for slug, name in TOPICS:
        Topic.objects.update_or_create(slug=slug, defaults={"name": name})


def add_prefix_index(apps, schema_editor):
    # Type-ahead matches `search_name LIKE 'prefix%'`; PostgreSQL only uses a btree for that
    # under the C collation or with the pattern operator class.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS city_search_prefix_idx "
            "ON cities_city (search_name varchar_pattern_ops, population DESC)"
        )


def drop_prefix_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS city_search_prefix_idx")


class Migration(migrations.Migration):
    dependencies = [("cities", "0001_initial")]

    operations = [
        migrations.RunPython(add_topics, migrations.RunPython.noop),
        migrations.RunPython(add_prefix_index, drop_prefix_index),
    ]
