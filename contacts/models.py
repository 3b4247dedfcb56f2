"""The people a city's international affairs office deals with: a directory kept by each home
city's staff, read by every internal reader (SPEC §8.4). Participants of engagements may link to a
contact, so a contact's page can list the engagements with them."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cities.models import City, Country
from cities.text import fold


def duplicate_key(text: str) -> str:
    """How names and organisations are compared when looking for likely duplicates: ASCII where
    possible, case-folded, punctuation and repeated spaces ignored."""
    folded = fold(text)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


class Contact(models.Model):
    """A person kept in a home city's directory."""

    home_city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    organization = models.CharField(max_length=255, blank=True)
    # Where the person is based: a city of the gazetteer and/or a country.
    city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    country = models.ForeignKey(Country, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    languages = models.CharField(max_length=200, blank=True, help_text="Languages spoken, e.g. “English, Japanese”.")
    notes = models.TextField(blank=True)
    # Folded forms of name and organisation: likely duplicates share both within a home city.
    name_key = models.CharField(max_length=200, editable=False, blank=True)
    organization_key = models.CharField(max_length=255, editable=False, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["name_key", "organization_key"])

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["home_city", "name_key", "organization_key"], name="contact_duplicate_idx")]

    def __str__(self):
        return f"{self.name} ({self.organization})" if self.organization else self.name

    def save(self, *args, **kwargs):
        self.name_key = duplicate_key(self.name)[:200]
        self.organization_key = duplicate_key(self.organization)[:255]
        if self.city_id and not self.country_id:
            self.country_id = self.city.country_id
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "name_key", "organization_key", "country"}
        super().save(*args, **kwargs)

    @property
    def etag(self):
        return f'"{self.pk}-{self.version}"'
