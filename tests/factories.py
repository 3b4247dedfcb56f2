"""factory_boy factories with a fixed seed, so generated data is the same on every run."""

import datetime as dt

import factory
import factory.random
from django.utils.text import slugify

from accounts.models import User
from cities.matching import index_cities
from cities.models import City, Country, InternationalAffairsOffice, Network, NetworkMembership, Organization, Topic
from cities.text import fold, to_ascii
from engagements.models import Agreement, Engagement, FollowUp, Review
from engagements.write_path import write_path

factory.random.reseed_random(2026)

COUNTRY_NAMES = {
    "US": ("USA", "United States", "Americas", "Northern America"),
    "JP": ("JPN", "Japan", "Asia", "Eastern Asia"),
    "DE": ("DEU", "Germany", "Europe", "Western Europe"),
    "BR": ("BRA", "Brazil", "Americas", "South America"),
    "CH": ("CHE", "Switzerland", "Europe", "Western Europe"),
    "CN": ("CHN", "China", "Asia", "Eastern Asia"),
    "NA": ("NAM", "Namibia", "Africa", "Southern Africa"),
    "RU": ("RUS", "Russia", "Europe", "Eastern Europe"),
    "MX": ("MEX", "Mexico", "Americas", "Central America"),
}


def country(iso2: str = "US") -> Country:
    iso3, name, region, subregion = COUNTRY_NAMES[iso2]
    return Country.objects.get_or_create(
        iso2=iso2, defaults={"iso3": iso3, "name": name, "region": region, "subregion": subregion}
    )[0]


def topic(slug: str) -> Topic:
    return Topic.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})[0]


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = City
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Town {n}")
    country = factory.LazyFunction(country)
    subdivision = "US-CA"
    population = 100_000
    latitude = 34.05
    longitude = -118.24
    timezone = "America/Los_Angeles"
    geonames_id = factory.Sequence(lambda n: 9_000_000 + n)
    ascii_name = factory.LazyAttribute(lambda o: to_ascii(o.name) or o.name)
    search_name = factory.LazyAttribute(lambda o: fold(o.name))
    slug = factory.LazyAttribute(lambda o: slugify(f"{o.ascii_name} {o.subdivision or o.country.iso2} {o.geonames_id}"))

    @factory.post_generation
    def names(obj, create, extracted, **kwargs):
        """The matcher's keys, as every city writer makes them (cities.matching)."""
        if create:
            index_cities([obj])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    role = "staff"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def home_cities(self, create, extracted, **kwargs):
        if create and extracted:
            self.home_cities.set(extracted)
        self.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = "ngo"
    country = factory.LazyFunction(lambda: country("JP"))


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network

    slug = factory.Sequence(lambda n: f"network-{n}")
    name = factory.Sequence(lambda n: f"Network {n}")


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InternationalAffairsOffice

    city = factory.SubFactory(CityFactory)
    name = "Mayor's Office of International Affairs"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NetworkMembership

    network = factory.SubFactory(NetworkFactory)
    city = factory.SubFactory(CityFactory)
    role = "member"


class CityRecordFactory(factory.django.DjangoModelFactory):
    """Test data is built straight into the tables, as fixtures are: it enters the write path
    that the models otherwise keep to `engagements.services`."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with write_path():
            return super()._create(model_class, *args, **kwargs)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        with write_path():
            super()._after_postgeneration(instance, create, results)


class AgreementFactory(CityRecordFactory):
    class Meta:
        model = Agreement

    city = factory.SubFactory(CityFactory)
    title = factory.Sequence(lambda n: f"Agreement {n}")
    kind = "sister_city"
    status = "active"
    visibility = "internal"
    signed_on = dt.date(2020, 5, 1)


class EngagementFactory(CityRecordFactory):
    class Meta:
        model = Engagement

    city = factory.SubFactory(CityFactory)
    title = factory.Sequence(lambda n: f"Engagement {n}")
    kind = "bilateral_meeting"
    status = "completed"
    visibility = "internal"
    start_date = dt.date(2026, 3, 10)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    engagement = factory.SubFactory(EngagementFactory)
    description = "Send the thank-you letter"
    due_on = dt.date(2026, 4, 1)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    engagement = factory.SubFactory(EngagementFactory)
    reviewer = factory.SubFactory(UserFactory, role="liaison")
    decision = "acknowledged"
