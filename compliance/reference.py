"""The shipped compliance rules, loaded from `compliance/data/compliance_rules.csv` (the project's
own copy): created or updated by code, idempotently. A rule that changed is re-evaluated at once;
loading the same file again changes nothing. Rules an admin added stay; none is deleted."""

import csv
import datetime as dt
from pathlib import Path

from django.db import transaction

from cities.models import Country
from utilities.sqlbulk import refresh_statistics

from . import services
from .models import ComplianceRule, split_codes

RULES_FILE = Path(__file__).resolve().parent / "data" / "compliance_rules.csv"
FIELDS = ["jurisdiction", "name", "citation", "url", "record_kinds", "agreement_kinds", "required_action", "note"]
DATES = ["effective_on", "deadline_on"]


def _date(text: str):
    return dt.date.fromisoformat(text) if text and text.strip() else None


def load_rules(path: Path = RULES_FILE) -> int:
    """Create or update the rules the file lists; returns how many it lists."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    changed = []
    with transaction.atomic():
        for row in rows:
            values = {name: (row.get(name) or "").strip() for name in FIELDS}
            values.update({name: _date(row.get(name, "")) for name in DATES})
            countries = sorted(set(split_codes(row.get("countries", "").upper())))
            rule = ComplianceRule.objects.filter(code=row["code"].strip()).first()
            if rule is None:
                rule = ComplianceRule(code=row["code"].strip())
            for name, value in values.items():
                setattr(rule, name, value)
            rule.full_clean(exclude=["countries"] if rule.pk else None, validate_unique=False)
            fields_changed = rule.pk is None or any(
                getattr(ComplianceRule.objects.get(pk=rule.pk), name) != getattr(rule, name)
                for name in [*FIELDS, *DATES]
            )
            if fields_changed:
                rule.save()
            known = set(Country.objects.filter(iso2__in=countries).values_list("iso2", flat=True))
            current = set(rule.countries.values_list("iso2", flat=True))
            if known != current:
                rule.countries.set(sorted(known))
                fields_changed = True
            if fields_changed:
                changed.append(rule)
        for rule in changed:
            services.rule_changed(rule)
    refresh_statistics([ComplianceRule], churned_rollups=False)
    return len(rows)
