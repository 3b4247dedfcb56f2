"""Concurrent compliance scans raise each flag once and tell of it once (PostgreSQL)."""

import datetime as dt

import pytest

from compliance import tasks
from compliance.models import ComplianceFlag
from compliance.reference import load_rules
from engagements.write_path import write_path
from notifications import tasks as notification_tasks
from notifications.models import Kind, Notification
from tests import factories
from tests.notifications.test_exactly_once import run_concurrently


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_scans_at_once_raise_and_announce_each_flag_once(countries, houston):
    factories.UserFactory(username="hana", role="staff", home_cities=[houston])
    liaison = factories.UserFactory(username="tex", role="liaison")
    liaison.portfolio_states.create(subdivision="US-TX")
    # Rules first loaded with nothing to flag; the records are then written outside the events,
    # so only the scans find them.
    load_rules()
    with write_path():
        for n in range(20):
            agreement = factories.AgreementFactory(city=houston, kind="sister_city", status="active", title=f"TX {n}")
            agreement.counterpart_countries.set(["CN"])

    def scan():
        tasks.run_daily_scan()
        notification_tasks.run_daily_scan(dt.date(2025, 9, 24))  # 7 days before TX-GOV-795's deadline

    run_concurrently(scan)

    assert ComplianceFlag.objects.filter(status="open").count() == 20
    assert Notification.objects.filter(kind=Kind.COMPLIANCE_FLAG).count() == 40
    assert Notification.objects.filter(kind=Kind.COMPLIANCE_DEADLINE).count() == 40
