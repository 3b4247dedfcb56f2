"""load_reference is what a production install runs: real reference data, no demo record, no user."""

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from cities.models import City, Country, Network, Topic
from compliance.models import ComplianceRule
from engagements.models import Agreement, Engagement


@pytest.mark.django_db
def test_load_reference_loads_the_reference_data_and_nothing_else():
    call_command("load_reference", verbosity=0)

    assert Country.objects.count() >= 240
    assert City.objects.count() >= 20_000
    assert Topic.objects.count() == 14
    assert Network.objects.count() >= 8
    assert set(ComplianceRule.objects.values_list("code", flat=True)) == {"TX-GOV-795", "FL-288-860", "AR-14-1-116"}
    assert not User.objects.exists()
    assert not Agreement.objects.exists() and not Engagement.objects.exists()

    counts = (Country.objects.count(), City.objects.count(), Network.objects.count(), ComplianceRule.objects.count())
    call_command("load_reference", verbosity=0)
    assert (
        Country.objects.count(),
        City.objects.count(),
        Network.objects.count(),
        ComplianceRule.objects.count(),
    ) == counts


@pytest.mark.postgres
@pytest.mark.django_db
def test_load_reference_leaves_the_planner_statistics_of_what_it_loaded():
    # Autovacuum may be off: without them the planner takes these tables for empty.
    call_command("load_reference", verbosity=0)

    for model in (Country, City, Topic, Network, ComplianceRule):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
            (estimated,) = cursor.fetchone()
        assert estimated == pytest.approx(model.objects.count(), rel=0.1), model.__name__
