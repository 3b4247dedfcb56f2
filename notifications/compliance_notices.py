"""Notices about state-law compliance flags (SPEC §8.2): to the record's city's staff and the
liaisons whose portfolio covers its state, when a flag is raised and 30, 7 and 0 days before its
rule's deadline while it is open; each once (the notice's unique key: the flag, and the day it
was raised or the deadline and threshold)."""

import datetime as dt
from collections.abc import Callable, Iterable

from django.utils import timezone

from accounts.models import Role, User
from accounts.policy import portfolio_states, preload_access
from compliance.models import ComplianceFlag, ComplianceRule, FlagStatus

from .delivery import create_notifications
from .models import Kind, Notification
from .triggers import _city_staff, _may_see

DEADLINE_NOTICE_DAYS = (0, 7, 30)


def _liaisons() -> list[User]:
    liaisons = list(User.objects.filter(role=Role.LIAISON, is_active=True))
    preload_access(liaisons)
    return liaisons


def _covering(liaisons: Iterable[User], state: str) -> list[User]:
    return [user for user in liaisons if (states := portfolio_states(user)) is None or state in states]


def _notices(flags: list[ComplianceFlag], *, kind: str, period: Callable, title: Callable, data: Callable) -> list[int]:
    if not flags:
        return []
    staff = _city_staff({flag.record.city_id for flag in flags})
    liaisons = _liaisons()
    notices = []
    for flag in flags:
        record = flag.record
        recipients = {user.pk: user for user in [*staff[record.city_id], *_covering(liaisons, record.city.subdivision)]}
        for user in _may_see(recipients.values(), record):
            notices.append(
                Notification(
                    recipient=user,
                    kind=kind,
                    object_key=f"compliance_flag:{flag.pk}",
                    period=period(flag),
                    title=title(flag)[:400],
                    data=data(flag),
                    agreement=flag.agreement,
                    engagement=flag.engagement,
                )
            )
    return create_notifications(notices)


def _flags(**filters) -> list[ComplianceFlag]:
    return list(
        ComplianceFlag.objects.filter(status=FlagStatus.OPEN, **filters).select_related(
            "rule", "agreement__city", "engagement__city"
        )
    )


def _data(flag: ComplianceFlag) -> dict:
    rule = flag.rule
    return {
        "rule": rule.code,
        "citation": rule.citation,
        "deadline_on": rule.deadline_on.isoformat() if rule.deadline_on else None,
        "required_action": rule.required_action[:2000],
    }


def notify_flags_raised(flag_ids: Iterable[int]) -> list[int]:
    """Tell of each of these flags, if still open, once per time it was raised."""
    return _notices(
        _flags(pk__in=sorted(set(flag_ids))),
        kind=Kind.COMPLIANCE_FLAG,
        period=lambda flag: f"raised:{flag.raised_on.isoformat()}",
        title=lambda flag: f"State-law flag ({flag.rule.code}): {flag.record.title} ({flag.record.city.label})",
        data=_data,
    )


def scan_compliance_deadlines(today: dt.date | None = None) -> list[int]:
    """Open flags whose rule's deadline is 30, 7 or 0 days away: one notice per threshold (a scan
    that missed days sends only the one now due)."""
    today = today or timezone.localdate()
    last = today + dt.timedelta(days=max(DEADLINE_NOTICE_DAYS))
    rules = ComplianceRule.objects.filter(is_active=True, deadline_on__gte=today, deadline_on__lte=last)
    ids = []
    for rule in rules:
        days_left = (rule.deadline_on - today).days
        threshold = min(days for days in DEADLINE_NOTICE_DAYS if days >= days_left)
        when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
        ids += _notices(
            _flags(rule=rule),
            kind=Kind.COMPLIANCE_DEADLINE,
            period=lambda flag, threshold=threshold: f"deadline:{flag.rule.deadline_on.isoformat()}/{threshold}d",
            title=lambda flag, when=when: f"State-law deadline {when} ({flag.rule.code}): {flag.record.title}",
            data=_data,
        )
    return ids
