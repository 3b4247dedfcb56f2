"""Counts kept beside the records they count, so exact totals do not need a scan of a million rows.

PostgreSQL keeps them: statement-level triggers on the engagements table add each insert, update
and delete (COPY, raw SQL and bulk writes included) to the counts within the same transaction, so
they are exact at every commit. Other databases have no triggers here, and readers count rows.
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
