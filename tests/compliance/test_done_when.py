"""The issue's "Done when", with the shipped rules (compliance/data/compliance_rules.csv)."""

from compliance.models import ComplianceFlag, FlagStatus
from compliance.reference import load_rules
from engagements.services import save_agreement
from tests import factories


def sister_city(actor, city, counterpart, *, status="active", capture):
    with capture(execute=True):
        return save_agreement(
            actor=actor,
            data={
                "city": city,
                "title": f"{city.name} – {counterpart.name}",
                "kind": "sister_city",
                "status": status,
                "counterpart_cities": [counterpart],
            },
        )


def test_houston_shenzhen_active_is_flagged_by_tx_gov_795_past_its_deadline(
    rules, houston, houston_staff, foreign, django_capture_on_commit_callbacks
):
    agreement = sister_city(houston_staff, houston, foreign["Shenzhen"], capture=django_capture_on_commit_callbacks)
    flags = list(ComplianceFlag.objects.filter(agreement=agreement).select_related("rule"))
    assert [(flag.rule.code, flag.status) for flag in flags] == [("TX-GOV-795", FlagStatus.OPEN)]
    assert flags[0].past_deadline()


def test_houston_taipei_is_not_flagged(rules, houston, houston_staff, foreign, django_capture_on_commit_callbacks):
    agreement = sister_city(houston_staff, houston, foreign["Taipei"], capture=django_capture_on_commit_callbacks)
    assert not ComplianceFlag.objects.filter(agreement=agreement).exists()


def test_los_angeles_beijing_is_flagged_by_no_rule(rules, city_a, staff_a, foreign, django_capture_on_commit_callbacks):
    agreement = sister_city(staff_a, city_a, foreign["Beijing"], capture=django_capture_on_commit_callbacks)
    assert not ComplianceFlag.objects.filter(agreement=agreement).exists()


def test_terminating_the_houston_agreement_lifts_its_flag(
    rules, houston, houston_staff, foreign, django_capture_on_commit_callbacks
):
    agreement = sister_city(houston_staff, houston, foreign["Shenzhen"], capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        save_agreement(actor=houston_staff, agreement=agreement, data={"status": "terminated"})
    flag = ComplianceFlag.objects.get(agreement=agreement)
    assert (flag.status, flag.reason) == (FlagStatus.RESOLVED, "No longer applies")
    assert flag.history.count() == 2


def test_loading_the_rules_twice_changes_nothing(rules):
    before = {rule.code: rule.history.count() for rule in rules.values()}
    assert load_rules() == 3
    assert {rule.code: rule.history.count() for rule in rules.values()} == before
    assert factories  # the shipped file names three rules, all loaded
