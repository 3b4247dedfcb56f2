"""Raising, lifting and deciding compliance flags (SPEC §8.2).

A record is flagged by a rule when its owning city lies in the rule's jurisdiction, the rule
covers its kind, one of its counterpart countries is among the rule's, it is live (an agreement
not expired or terminated, an engagement not cancelled) and the rule is active and in force
(`effective_on` today or earlier). `evaluate` makes the flags agree with that condition, set-wise:
per rule and record kind, one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` raises the missing
flags, and two conditional UPDATEs lift the open flags whose condition no longer holds (status
`resolved`, reason "No longer applies": kept, with their history) and reopen the lifted ones
whose condition holds again. A flag a person resolved or waived keeps their decision.

Callers: the write path's events (`subscribers`), rule changes (`rule_changed`, from the admin
and the reference loader) and the daily scan (`tasks.daily_scan`), so every one of them gives
the same flags.
"""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, Exists, F, IntegerField, OuterRef, QuerySet, Value
from django.utils import timezone

from accounts.policy import Action, can
from engagements.models import Agreement, Engagement

from . import events
from .models import LIFTED_REASON, ComplianceFlag, ComplianceRule, FlagStatus

DEAD_AGREEMENT_STATUSES = [Agreement.Status.EXPIRED, Agreement.Status.TERMINATED]
DEAD_ENGAGEMENT_STATUSES = [Engagement.Status.CANCELLED]
KIND_OF_MODEL = {Agreement: "agreements", Engagement: "engagements"}
FIELD_OF_MODEL = {Agreement: "agreement", Engagement: "engagement"}


def _rules(rules: Iterable[ComplianceRule] | None) -> list[ComplianceRule]:
    if rules is None:
        rules = ComplianceRule.objects.all()
    else:
        rules = ComplianceRule.objects.filter(pk__in=[rule.pk for rule in rules])
    return list(rules.prefetch_related("countries"))


def flagged_records(rule: ComplianceRule, model, today: dt.date) -> QuerySet:
    """The records of `model` that `rule` flags today (the whole condition, in SQL)."""
    countries = [country.pk for country in rule.countries.all()]
    if not (rule.in_force(today) and KIND_OF_MODEL[model] in rule.kinds and countries):
        return model.objects.none()
    records = model.objects.filter(city__subdivision=rule.jurisdiction)
    if model is Agreement:
        records = records.exclude(status__in=DEAD_AGREEMENT_STATUSES)
        if rule.agreement_kind_list:
            records = records.filter(kind__in=rule.agreement_kind_list)
    else:
        records = records.exclude(status__in=DEAD_ENGAGEMENT_STATUSES)
    through = model.counterpart_countries.through
    owner = f"{model._meta.model_name}_id"
    return records.filter(Exists(through.objects.filter(**{owner: OuterRef("pk"), "country_id__in": countries})))


def _insert_flags(rule: ComplianceRule, model, records: QuerySet, today: dt.date) -> list[int]:
    """Raise `rule`'s flag on each of `records` that has none; return the new flags' ids."""
    if records.query.is_empty():
        return []
    field = FIELD_OF_MODEL[model]
    other = "engagement" if field == "agreement" else "agreement"
    columns = {
        "rule_id": Value(rule.pk, output_field=IntegerField()),
        f"{field}_id": F("pk"),
        f"{other}_id": Value(None, output_field=IntegerField()),
        "raised_on": Value(today, output_field=DateField()),
        "status": Value(FlagStatus.OPEN.value),
        "reason": Value(""),
        "decided_by_id": Value(None, output_field=IntegerField()),
        "decided_at": Value(None, output_field=DateTimeField()),
    }
    names = {column: f"f_{column}" for column in columns}
    rows = records.annotate(**{names[c]: e for c, e in columns.items()}).values(*names.values()).order_by("pk")
    select, params = rows.query.get_compiler(connection=connection).as_sql()
    quote = connection.ops.quote_name
    table = quote(ComplianceFlag._meta.db_table)
    target = f"{quote('rule_id')}, {quote(f'{field}_id')}"
    # Names come from the model's metadata and every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) {select} "  # noqa: S608
        f"ON CONFLICT ({target}) WHERE {quote(f'{field}_id')} IS NOT NULL DO NOTHING RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _history(ids: list[int], *, created: bool) -> None:
    if ids:
        flags = list(ComplianceFlag.objects.filter(pk__any_of=ids))
        ComplianceFlag.history.bulk_history_create(flags, update=not created)


def evaluate(
    model, *, ids: Iterable[int] | None = None, rules: Iterable[ComplianceRule] | None = None, today=None
) -> dict[str, list[int]]:
    """Make the flags of `model`'s records (only `ids`, when given) by `rules` (default: all)
    agree with the rules' condition. Returns the ids of the flags raised (new or reopened) and
    lifted. Announces the raised ones once the transaction commits."""
    today = today or timezone.localdate()
    ids = None if ids is None else sorted(set(ids))
    if ids == []:
        return {"raised": [], "lifted": []}
    field = FIELD_OF_MODEL[model]
    raised, reopened, lifted = [], [], []
    with transaction.atomic():
        for rule in _rules(rules):
            records = flagged_records(rule, model, today)
            flags = ComplianceFlag.objects.filter(rule=rule, **{f"{field}__isnull": False})
            if ids is not None:
                records = records.filter(pk__any_of=ids)
                flags = flags.filter(**{f"{field}_id__any_of": ids})
            still = records.values("pk")
            open_flags = flags.filter(status=FlagStatus.OPEN)
            if not records.query.is_empty():
                open_flags = open_flags.exclude(**{f"{field}_id__in": still})
            to_lift = list(open_flags.values_list("pk", flat=True))
            if to_lift:
                ComplianceFlag.objects.filter(pk__in=to_lift, status=FlagStatus.OPEN).update(
                    status=FlagStatus.RESOLVED, reason=LIFTED_REASON, decided_at=timezone.now(), decided_by=None
                )
            to_reopen = (
                []
                if records.query.is_empty()
                else list(
                    flags.filter(status=FlagStatus.RESOLVED, decided_by__isnull=True, reason=LIFTED_REASON)
                    .filter(**{f"{field}_id__in": still})
                    .values_list("pk", flat=True)
                )
            )
            if to_reopen:
                ComplianceFlag.objects.filter(pk__in=to_reopen, status=FlagStatus.RESOLVED).update(
                    status=FlagStatus.OPEN, reason="", decided_at=None, raised_on=today
                )
            raised += _insert_flags(rule, model, records, today)
            reopened += to_reopen
            lifted += to_lift
        _history(raised, created=True)
        _history(reopened + lifted, created=False)
        events.announce_raised(ComplianceFlag, raised + reopened)
    return {"raised": sorted(raised + reopened), "lifted": sorted(lifted)}


def evaluate_everything(*, today=None, rules=None) -> dict[str, list[int]]:
    """Every record by every rule (the daily scan; a rule change passes `rules=[rule]`)."""
    result = {"raised": [], "lifted": []}
    for model in (Agreement, Engagement):
        for key, values in evaluate(model, rules=rules, today=today).items():
            result[key] += values
    return result


def rule_changed(rule: ComplianceRule, *, today=None) -> dict[str, list[int]]:
    """Re-evaluate every record of `rule`'s jurisdiction (and lift its flags elsewhere) after the
    rule was saved: called by the admin once the rule's countries are saved, and by the loader."""
    return evaluate_everything(rules=[rule], today=today)


DECISIONS = (FlagStatus.RESOLVED, FlagStatus.WAIVED)


def decide_flag(*, actor, flag: ComplianceFlag, status: str, reason: str) -> ComplianceFlag:
    """Resolve or waive an open flag, with a reason: staff of the record's city, liaisons and
    admins. Raises PermissionDenied or ValidationError naming the field."""
    if not can(actor, Action.CHANGE, flag):
        raise PermissionDenied
    errors = {}
    if status not in DECISIONS:
        errors["status"] = ["Choose resolved or waived."]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Say why (e.g. the council's resolution withdrawing from the agreement)."]
    elif len(reason) > 2000:
        errors["reason"] = ["Keep the reason under 2,000 characters."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = ComplianceFlag.objects.select_for_update().get(pk=flag.pk)
        if current.status != FlagStatus.OPEN:
            raise ValidationError({"status": ["Only an open flag can be resolved or waived; this one is not open."]})
        current.status, current.reason = status, reason
        current.decided_by, current.decided_at = actor, timezone.now()
        current._history_user = actor
        current.save()
    return current
