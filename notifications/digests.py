"""The weekly digest each liaison receives of their portfolio."""

import datetime as dt

from django.utils import timezone

from accounts.models import Role, User
from accounts.policy import Action, can, portfolio_states, preload_access
from engagements.models import Agreement, Engagement, Review

from .delivery import create_notifications
from .models import Kind, Notification
from .scans import EXPIRING_STATUSES, EXPIRY_NOTICE_DAYS

DIGEST_ITEMS_SHOWN = 50


def _digest_item(record, **extra) -> dict:
    return {"id": record.pk, "title": record.title, "city": record.city.label, **extra}


def send_weekly_digests(now: dt.datetime | None = None) -> list[int]:
    """Give every liaison a digest of the seven days before `now` in their portfolio: new
    engagements, flags raised by reviews, and agreements expiring in the next 90 days. A fixed
    number of queries whatever the number of liaisons; a week with nothing to report sends nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    since = now - dt.timedelta(days=7)
    year, week, _ = today.isocalendar()
    liaisons = list(User.objects.filter(role=Role.LIAISON, is_active=True))
    if not liaisons:
        return []
    preload_access(liaisons)
    new_engagements = list(
        Engagement.objects.filter(created_at__gt=since, created_at__lte=now)
        .select_related("city")
        .order_by("-created_at", "-id")
    )
    flags = list(
        Review.objects.filter(decision=Review.Decision.FLAGGED, created_at__gt=since, created_at__lte=now)
        .select_related("engagement__city", "reviewer")
        .order_by("-created_at", "-id")
    )
    expiring = list(
        Agreement.objects.filter(
            status__in=EXPIRING_STATUSES,
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=max(EXPIRY_NOTICE_DAYS)),
        )
        .select_related("city")
        .order_by("expires_on", "id")
    )
    notifications = []
    for liaison in liaisons:
        states = portfolio_states(liaison)

        def covered(record, states=states, liaison=liaison):
            in_portfolio = states is None or record.city.subdivision in states
            return in_portfolio and can(liaison, Action.VIEW, record)

        mine_new = [e for e in new_engagements if covered(e)]
        mine_flags = [r for r in flags if covered(r.engagement)]
        mine_expiring = [a for a in expiring if covered(a)]
        if not (mine_new or mine_flags or mine_expiring):
            continue
        scope = "all states" if states is None else ", ".join(sorted(states))
        notifications.append(
            Notification(
                recipient=liaison,
                kind=Kind.WEEKLY_DIGEST,
                object_key="digest",
                period=f"{year}-W{week:02d}",
                title=(
                    f"Weekly digest ({scope}): {len(mine_new)} new engagements, {len(mine_flags)} flags, "
                    f"{len(mine_expiring)} agreements expiring within 90 days"
                ),
                data={
                    "week": f"{year}-W{week:02d}",
                    "counts": {"new": len(mine_new), "flags": len(mine_flags), "expiring": len(mine_expiring)},
                    "new_engagements": [
                        _digest_item(e, start_date=e.start_date.isoformat(), attention=e.federal_coordination_requested)
                        for e in mine_new[:DIGEST_ITEMS_SHOWN]
                    ],
                    "flags": [
                        _digest_item(
                            r.engagement, reviewer=r.reviewer.display_name(), comment=r.comment[:300], review_id=r.pk
                        )
                        for r in mine_flags[:DIGEST_ITEMS_SHOWN]
                    ],
                    "expiring": [
                        _digest_item(a, expires_on=a.expires_on.isoformat()) for a in mine_expiring[:DIGEST_ITEMS_SHOWN]
                    ],
                },
            )
        )
    return create_notifications(notifications)
