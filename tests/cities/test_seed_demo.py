"""seed_demo loads real reference data and demo records, and a second run changes nothing."""

import pytest
from django.apps import apps
from django.core.management import call_command

from cities.models import City, Country, InternationalAffairsOffice, Network, NetworkMembership
from engagements.models import Agreement, Engagement


def snapshot():
    """Row counts of every table (history included) and the newest change time of each record."""
    counts = {model._meta.label: model._default_manager.count() for model in apps.get_models()}
    counts["agreement_updated"] = max(Agreement.objects.values_list("updated_at", flat=True))
    counts["engagement_updated"] = max(Engagement.objects.values_list("updated_at", flat=True))
    return counts


@pytest.mark.django_db
def test_seed_demo_loads_real_data_and_is_idempotent():
    call_command("seed_demo", verbosity=0)

    assert Country.objects.count() >= 240
    assert City.objects.count() >= 20_000
    assert Network.objects.count() >= 8
    assert InternationalAffairsOffice.objects.count() >= 3
    assert NetworkMembership.objects.count() >= 6
    assert Agreement.objects.filter(is_demo=False).count() >= 30
    assert Engagement.objects.filter(is_demo=True).exists()
    assert not Engagement.objects.filter(is_demo=False).exists()
    # Real facts survive loading: Namibia keeps its code, Taiwan its common name, Assisi is there.
    assert Country.objects.get(iso2="NA").name == "Namibia"
    assert Country.objects.get(iso2="TW").name == "Taiwan"
    assert Country.objects.get(iso2="FR").region == "Europe"
    assert City.objects.get(geonames_id=5368361).subdivision == "US-CA"
    osaka = Agreement.objects.get(external_id="SFO-001")
    assert osaka.status == "terminated"
    assert Agreement.objects.filter(counterpart_cities__name="Assisi").exists()

    before = snapshot()
    call_command("seed_demo", verbosity=0)
    assert snapshot() == before
