"""Reference data (countries, cities, topics, networks, the watch list) and the city-side records:
international-affairs offices, counterpart organisations and network memberships."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from utilities.dates import date_range_errors

from .querysets import CityQuerySet


class Country(models.Model):
    """An ISO 3166-1 country with its UN M49 region and subregion."""

    iso2 = models.CharField("ISO 3166-1 alpha-2", max_length=2, primary_key=True)
    iso3 = models.CharField("ISO 3166-1 alpha-3", max_length=3, unique=True)
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=40, blank=True)
    subregion = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"

    def __str__(self):
        return self.name


class City(models.Model):
    """A city from GeoNames (population >= 15,000), or one added because a record needs it."""

    name = models.CharField(max_length=200)
    ascii_name = models.CharField(max_length=200, blank=True)
    # Case-folded ASCII name: what type-ahead and references match by prefix.
    search_name = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    # Case-folded alternate names as "|name|name|", for references no primary name matches.
    alternate_names = models.TextField(blank=True, editable=False)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="cities")
    subdivision = models.CharField("ISO 3166-2 subdivision", max_length=6, blank=True, db_index=True)
    population = models.PositiveBigIntegerField(null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    geonames_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    slug = models.SlugField(max_length=220, unique=True)

    objects = CityQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-population", "name"]
        verbose_name_plural = "cities"
        indexes = [
            models.Index(fields=["country", "search_name"], name="city_country_search_idx"),
            models.Index(fields=["-population"], name="city_population_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="city_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="city_longitude_range",
            ),
        ]

    def __str__(self):
        return self.format_label(self.name, self.subdivision, self.country_id)

    @property
    def label(self):
        return str(self)

    @staticmethod
    def format_label(name: str, subdivision: str, country_id: str) -> str:
        """How people write a city: `Los Angeles, US-CA`, `Berlin, DE`."""
        return f"{name}, {subdivision or country_id}"


class CityName(models.Model):
    """One key a city is found by (`cities.matching`): a way of writing it (name, ASCII name or an
    alternate name in any script), folded, from one of its word starts to its end."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="names")
    key = models.CharField(max_length=200)
    # The key starts where the name starts (references match whole names only).
    whole = models.BooleanField(default=True)
    # From the city's name or ASCII name rather than an alternate name.
    primary = models.BooleanField(default=False)
    # The city's population, copied so the type-ahead ranks without reading the cities.
    population = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            # Prefix matches (`LIKE 'key%'`) need the pattern operator class on PostgreSQL.
            models.Index(fields=["key"], name="cityname_key_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["-population", "city"], name="cityname_population_idx"),
        ]

    def __str__(self):
        return self.key


class Topic(models.Model):
    """One entry of the fixed topic taxonomy."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Network(models.Model):
    """A city network such as C40 or ICLEI."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    acronym = models.CharField(max_length=30, blank=True)
    founded_year = models.PositiveSmallIntegerField(null=True, blank=True)
    headquarters = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    topics = models.ManyToManyField(Topic, blank=True, related_name="networks")

    history = HistoricalRecords(m2m_fields=[topics])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.acronym or self.name


class WatchedCountry(models.Model):
    """A country an admin marks for federal attention: records with a counterpart there are
    flagged for liaison review."""

    country = models.OneToOneField(Country, on_delete=models.CASCADE, related_name="watch")
    reason = models.TextField()
    added_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["country__name"]
        verbose_name = "watch-list country"
        verbose_name_plural = "watch list"

    def __str__(self):
        return f"{self.country} (watch list)"


class InternationalAffairsOffice(models.Model):
    """A city's international-affairs office: its profile page and point of contact."""

    city = models.OneToOneField(City, on_delete=models.CASCADE, related_name="office")
    name = models.CharField(max_length=200)
    established_on = models.DateField(null=True, blank=True)
    head_name = models.CharField(max_length=200, blank=True)
    head_title = models.CharField(max_length=200, blank=True)
    staff_count = models.PositiveIntegerField(null=True, blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    mandate = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["city__name"]
        verbose_name = "international affairs office"

    def __str__(self):
        return f"{self.name} ({self.city.name})"

    def clean(self):
        super().clean()
        errors = date_range_errors(self)
        if errors:
            raise ValidationError(errors)


class Organization(models.Model):
    """A counterpart that is not a city: a ministry, an embassy, a company, a university."""

    class Kind(models.TextChoices):
        NATIONAL_GOVERNMENT = "national_government", "National government"
        EMBASSY_CONSULATE = "embassy_consulate", "Embassy or consulate"
        INTERNATIONAL_ORGANIZATION = "international_organization", "International organization"
        CITY_NETWORK = "city_network", "City network"
        SUBNATIONAL_GOVERNMENT = "subnational_government", "Subnational government"
        COMPANY = "company", "Company"
        NGO = "ngo", "NGO"
        UNIVERSITY = "university", "University"
        OTHER = "other", "Other"

    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    country = models.ForeignKey(Country, null=True, blank=True, on_delete=models.PROTECT, related_name="organizations")
    city = models.ForeignKey(City, null=True, blank=True, on_delete=models.SET_NULL, related_name="organizations")
    website = models.URLField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            # The natural key imports upsert by: one organisation of a name per country.
            models.UniqueConstraint(Lower("name"), "country", name="organization_unique_name_country"),
        ]

    def __str__(self):
        return self.name


class NetworkMembership(models.Model):
    """A city's membership of a network, active while `left_on` is empty or in the future."""

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        FOUNDING_MEMBER = "founding_member", "Founding member"
        STEERING_COMMITTEE = "steering_committee", "Steering committee"
        CHAIR = "chair", "Chair"
        VICE_CHAIR = "vice_chair", "Vice chair"
        OBSERVER = "observer", "Observer"

    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="memberships")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["network__name", "city__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(joined_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="membership_left_after_joined",
            ),
            models.UniqueConstraint(
                fields=["network", "city", "role"],
                condition=Q(left_on__isnull=True),
                name="membership_one_open_per_role",
            ),
        ]
        indexes = [models.Index(fields=["city", "network"], name="membership_city_network_idx")]

    def __str__(self):
        return f"{self.city.name} in {self.network} ({self.get_role_display()})"

    def clean(self):
        super().clean()
        errors = date_range_errors(self)
        if self.joined_on and self.left_on and self.left_on < self.joined_on and "left_on" not in errors:
            errors["left_on"] = ["Must be on or after joined_on (the joining date)."]
        if errors:
            raise ValidationError(errors)
