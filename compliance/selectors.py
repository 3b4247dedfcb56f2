"""Reading flags as a user may: through the one read policy (`accounts.policy.restrict`), so a
flag of a record the user may not see does not exist for them, on every surface."""

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from accounts.policy import restrict

from .models import ComplianceFlag, FlagStatus


def visible_flags(user):
    return restrict(ComplianceFlag.objects.all(), user)


def flags_for_list(user):
    """Flags with what every list shows (rule, record, its city), past deadline first."""
    today = timezone.localdate()
    return (
        visible_flags(user)
        .select_related("rule", "agreement__city", "engagement__city")
        .annotate(
            overdue=Case(
                When(rule__deadline_on__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("overdue", "rule__deadline_on", "rule__jurisdiction", "rule__code", "id")
    )


def open_counts(user) -> list[dict]:
    """Open flags by state and rule, past deadline first: one query."""
    today = timezone.localdate()
    rows = (
        visible_flags(user)
        .filter(status=FlagStatus.OPEN)
        .values("rule__jurisdiction", "rule__code", "rule__name", "rule__deadline_on")
        .annotate(count=Count("id"))
        .order_by()
    )
    groups = [
        {
            "state": row["rule__jurisdiction"],
            "rule": row["rule__code"],
            "rule_name": row["rule__name"],
            "deadline_on": row["rule__deadline_on"],
            "past_deadline": bool(row["rule__deadline_on"] and row["rule__deadline_on"] < today),
            "count": row["count"],
        }
        for row in rows
    ]
    return sorted(groups, key=lambda g: (not g["past_deadline"], g["state"], g["rule"]))


__all__ = ["Q", "flags_for_list", "open_counts", "visible_flags"]
