from django.db import migrations, models
import django.db.models.deletion


def index_existing_cities(apps, schema_editor):
    """The names of the cities already loaded (later writes index their own)."""
    from cities.matching import keys_of
    from utilities.sqlbulk import insert_values

    City = apps.get_model("cities", "City")
    CityName = apps.get_model("cities", "CityName")
    cities = City.objects.only("pk", "name", "ascii_name", "alternate_names", "population").order_by("pk")
    batch = []
    for city in cities.iterator(chunk_size=2000):
        population = city.population or 0
        batch.extend((city.pk, key, whole, primary, population) for (key, whole), primary in keys_of(city).items())
        if len(batch) >= 50_000:
            insert_values(CityName, ["city_id", "key", "whole", "primary", "population"], batch, returning=False)
            batch = []
    insert_values(CityName, ["city_id", "key", "whole", "primary", "population"], batch, returning=False)
    if schema_editor.connection.vendor == "postgresql":
        # Autovacuum may be off: plan the type-ahead for the table as loaded, not as empty.
        schema_editor.execute("ANALYZE cities_cityname")


class Migration(migrations.Migration):
    dependencies = [("cities", "0002_topics_and_search_index")]

    operations = [
        migrations.CreateModel(
            name="CityName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200)),
                ("whole", models.BooleanField(default=True)),
                ("primary", models.BooleanField(default=False)),
                ("population", models.PositiveBigIntegerField(default=0)),
                (
                    "city",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="names", to="cities.city"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["key"], name="cityname_key_idx", opclasses=["varchar_pattern_ops"]),
                    models.Index(fields=["-population", "city"], name="cityname_population_idx"),
                ],
            },
        ),
        migrations.RunPython(index_existing_cities, migrations.RunPython.noop),
    ]
