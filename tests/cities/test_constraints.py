"""The database itself refuses bad data, whatever path a write takes."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from tests import factories

pytestmark = pytest.mark.django_db


def refuses(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_engagement_cannot_end_before_it_starts(city_a):
    refuses(
        lambda: factories.EngagementFactory(city=city_a, start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))
    )


def test_agreement_cannot_expire_before_it_is_signed(city_a):
    refuses(
        lambda: factories.AgreementFactory(city=city_a, signed_on=dt.date(2020, 1, 2), expires_on=dt.date(2020, 1, 1))
    )


def test_membership_cannot_end_before_it_starts(city_a):
    refuses(
        lambda: factories.MembershipFactory(city=city_a, joined_on=dt.date(2020, 1, 2), left_on=dt.date(2019, 1, 1))
    )


def test_one_open_membership_per_city_network_and_role(city_a):
    network = factories.NetworkFactory()
    factories.MembershipFactory(city=city_a, network=network, role="member")
    refuses(lambda: factories.MembershipFactory(city=city_a, network=network, role="member"))
    # A past membership of the same role, and another role, are fine.
    factories.MembershipFactory(
        city=city_a, network=network, role="member", joined_on=dt.date(2000, 1, 1), left_on=dt.date(2001, 1, 1)
    )
    factories.MembershipFactory(city=city_a, network=network, role="chair")


def test_external_id_is_unique_within_a_city_only(city_a, city_b):
    factories.EngagementFactory(city=city_a, external_id="X-1")
    factories.EngagementFactory(city=city_b, external_id="X-1")
    factories.EngagementFactory(city=city_a, external_id=None)
    factories.EngagementFactory(city=city_a, external_id=None)
    refuses(lambda: factories.EngagementFactory(city=city_a, external_id="X-1"))
    factories.AgreementFactory(city=city_a, external_id="A-1")
    refuses(lambda: factories.AgreementFactory(city=city_a, external_id="A-1"))


def test_geonames_id_and_slug_are_unique(city_a):
    refuses(lambda: factories.CityFactory(geonames_id=city_a.geonames_id))
    refuses(lambda: factories.CityFactory(slug=city_a.slug))


def test_organization_name_is_unique_per_country_ignoring_case():
    factories.OrganizationFactory(name="Tokyo Metropolitan Government", country=factories.country("JP"))
    factories.OrganizationFactory(name="Tokyo Metropolitan Government", country=factories.country("US"))
    refuses(
        lambda: factories.OrganizationFactory(name="TOKYO metropolitan government", country=factories.country("JP"))
    )


def test_city_coordinates_stay_on_the_globe():
    refuses(lambda: factories.CityFactory(latitude=91))
