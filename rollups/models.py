"""Counts kept beside the records they count, so exact totals do not need a scan of a million rows.

PostgreSQL keeps them: statement-level triggers on the engagements table (all of them, as they
are now, in `rollups/triggers.py`) add each insert, update and delete (COPY, raw SQL and bulk
writes included) to the counts within the same transaction, so they are exact at every commit.
Other databases have no triggers here, and readers count rows.
"""

from django.db import models

from cities.models import City


class EngagementCount(models.Model):
    """How many engagements a city has at one visibility: the dimensions the access policy
    (`visible_q`) and the cheapest list filters (city, state, visibility) need."""

    city = models.ForeignKey(City, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    visibility = models.CharField(max_length=10)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["city", "visibility"], name="engagementcount_city_visibility")]

    def __str__(self):
        return f"{self.city_id}/{self.visibility}: {self.count}"


class EngagementTally(models.Model):
    """How many engagements at one visibility have one key of one dimension, nationwide: what a
    caller who sees whole visibilities (no city or state in question) sums to draw a chart.

    Dimensions: `month` (`YYYY-MM` of the start date), `year` (`YYYY`), `kind`, `review_status`,
    `topic` (topic id), `country` (counterpart iso2) and `region` (UN M49 region of a counterpart
    country; an engagement counts once per region). An engagement with two topics counts under
    each; one with none under no topic.
    """

    visibility = models.CharField(max_length=10)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visibility", "dimension", "key"], name="engagementtally_unique"),
        ]

    def __str__(self):
        return f"{self.visibility}/{self.dimension}/{self.key}: {self.count}"


class CityEngagementTally(models.Model):
    """`EngagementTally` per owning city: for restricted records of a staff user's home cities,
    and for city and state filters."""

    city = models.ForeignKey(City, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    visibility = models.CharField(max_length=10)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["city", "visibility", "dimension", "key"], name="cityengagementtally_unique"
            ),
        ]
        indexes = [models.Index(fields=["dimension", "key"], name="cityengagementtally_key_idx")]

    def __str__(self):
        return f"{self.city_id}/{self.visibility}/{self.dimension}/{self.key}: {self.count}"


class EngagementPairTally(models.Model):
    """How many engagements of a city at one visibility have one topic and one counterpart
    country together: the count of a list filtered on both. Counted row by row, that filter
    reads thousands of scattered pages at a million records; this is a sum over a few rows.
    Kept from the filter arrays each engagement carries (engagements/migrations/0004), so it is
    exact whenever they are."""

    city = models.ForeignKey(City, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    visibility = models.CharField(max_length=10)
    topic = models.CharField(max_length=40)  # the topic's slug
    country = models.CharField(max_length=2)  # the counterpart country's iso2
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["city", "visibility", "topic", "country"], name="engagementpairtally_unique"
            ),
        ]
        indexes = [models.Index(fields=["topic", "country"], name="engagementpairtally_pair_idx")]

    def __str__(self):
        return f"{self.city_id}/{self.visibility}/{self.topic}+{self.country}: {self.count}"
