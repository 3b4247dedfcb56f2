"""Compliance and lifecycle notices: each created exactly once, however often the scans run."""

import datetime as dt

import pytest

from cities.models import WatchedCountry
from compliance import services
from compliance.models import ComplianceFlag
from engagements.services import save_agreement
from notifications import compliance_notices, scans
from notifications.models import Kind, Notification
from tests import factories


@pytest.fixture
def texas_liaison(db):
    user = factories.UserFactory(username="tex", role="liaison")
    user.portfolio_states.create(subdivision="US-TX")
    return user


@pytest.fixture
def houston_agreement(rules, houston, houston_staff, foreign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return save_agreement(
            actor=houston_staff,
            data={
                "city": houston,
                "title": "Houston – Shenzhen",
                "kind": "sister_city",
                "status": "active",
                "counterpart_cities": [foreign["Shenzhen"]],
            },
        )


def kinds_of(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_a_raised_flag_is_told_once_to_city_staff_and_covering_liaisons(texas_liaison, liaison, houston_agreement):
    assert kinds_of(Kind.COMPLIANCE_FLAG) == sorted(["hana", "tex", liaison.username])
    flag = ComplianceFlag.objects.get(agreement=houston_agreement)
    compliance_notices.notify_flags_raised([flag.pk])
    services.evaluate_everything()
    assert Notification.objects.filter(kind=Kind.COMPLIANCE_FLAG).count() == 3


def test_deadline_notices_come_at_30_7_and_0_days_each_once(texas_liaison, houston_agreement, rules):
    rule = rules["TX-GOV-795"]
    today = dt.date(2026, 1, 1)
    rule.deadline_on = today + dt.timedelta(days=30)
    rule.save()
    for offset in (0, 0, 5, 23, 23, 29, 30, 30, 31):
        compliance_notices.scan_compliance_deadlines(today + dt.timedelta(days=offset))
    periods = sorted(set(Notification.objects.filter(kind=Kind.COMPLIANCE_DEADLINE).values_list("period", flat=True)))
    assert periods == [f"deadline:{rule.deadline_on}/{days}d" for days in (0, 30, 7)]
    assert Notification.objects.filter(kind=Kind.COMPLIANCE_DEADLINE).count() == 3 * 2  # Hana and Tex


def test_a_lapsed_agreement_is_told_once_to_its_city_staff(houston, houston_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        save_agreement(
            actor=houston_staff,
            data={
                "city": houston,
                "title": "Lapsed friendship",
                "kind": "friendship_city",
                "status": "active",
                "signed_on": dt.date(2010, 1, 1),
                "expires_on": dt.date(2020, 1, 1),
            },
        )
    for _ in range(3):
        scans.scan_lapsed_agreements(dt.date(2026, 1, 1))
    assert kinds_of(Kind.AGREEMENT_LAPSED) == ["hana"]


def test_an_agreement_with_a_watch_list_country_alerts_liaisons_once_per_version(
    rules, city_a, staff_a, liaison, foreign, django_capture_on_commit_callbacks
):
    WatchedCountry.objects.create(country_id="CN", reason="Foreign adversary under state law")
    with django_capture_on_commit_callbacks(execute=True):
        agreement = save_agreement(
            actor=staff_a,
            data={
                "city": city_a,
                "title": "LA – Beijing",
                "kind": "sister_city",
                "status": "active",
                "counterpart_cities": [foreign["Beijing"]],
            },
        )
    assert not ComplianceFlag.objects.filter(agreement=agreement).exists()
    from notifications import triggers

    triggers.notify_agreement_alert(agreement.pk)
    assert kinds_of(Kind.AGREEMENT_ALERT) == [liaison.username]
