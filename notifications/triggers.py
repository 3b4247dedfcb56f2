"""Event triggers: who is told, at once, of an engagement needing federal attention and of a
liaison's review. Each version of an engagement and each review is one event."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from accounts.models import Role, User
from accounts.policy import Action, can, preload_access
from cities.models import WatchedCountry
from engagements.models import Agreement, Engagement, Review

from .delivery import create_notifications
from .models import Kind, Notification


def _may_see(users: Iterable[User], record) -> list[User]:
    return [user for user in users if user.is_active and can(user, Action.VIEW, record)]


def _city_staff(city_ids: Iterable[int]) -> dict[int, list[User]]:
    """Active staff of each city, with their access preloaded for policy checks."""
    through = User.home_cities.through
    pairs = list(
        through.objects.filter(city_id__in=set(city_ids), user__role=Role.STAFF, user__is_active=True).values_list(
            "city_id", "user_id"
        )
    )
    users = {user.pk: user for user in User.objects.filter(pk__in={user_id for _, user_id in pairs})}
    preload_access(users.values())
    staff = defaultdict(list)
    for city_id, user_id in pairs:
        staff[city_id].append(users[user_id])
    return staff


def _watch_list_reasons(record) -> list[str]:
    watched = WatchedCountry.objects.filter(country__in=record.counterpart_countries.all()).select_related("country")
    return [f"Watch-list counterpart: {watch.country.name}" for watch in watched]


def attention_reasons(engagement: Engagement) -> list[str]:
    """Why liaisons should look at this engagement: a federal-coordination request and each
    counterpart country on the watch list."""
    reasons = ["Federal coordination requested"] if engagement.federal_coordination_requested else []
    return reasons + _watch_list_reasons(engagement)


def needing_liaison_attention(engagement_ids: Iterable[int]) -> list[int]:
    """Which of these engagements request federal coordination or have a watch-list counterpart:
    the one-query test made before any alert job is enqueued."""
    ids = list(engagement_ids)
    requested = Engagement.objects.filter(federal_coordination_requested=True, id__any_of=ids)
    # From the counterpart rows of these engagements alone: joined from the engagements, the
    # planner read all of a million engagements' rows (0.1 s for an import chunk).
    watched = Engagement.counterpart_countries.through.objects.filter(
        engagement_id__any_of=ids, country__watch__isnull=False
    )
    return sorted({*requested.values_list("pk", flat=True), *watched.values_list("engagement_id", flat=True)})


def _alert_covering_liaisons(record, kind: Kind, reasons: list[str]) -> list[int]:
    """Tell the liaisons whose portfolio covers `record`'s state, and who may see it, why it needs
    federal attention. Each version of the record is one event."""
    liaisons = list(
        User.objects.filter(role=Role.LIAISON, is_active=True)
        .filter(Q(portfolio_all=True) | Q(portfolio_states__subdivision=record.city.subdivision))
        .distinct()
    )
    preload_access(liaisons)
    noun = record._meta.model_name
    novelty = "New" if record.version == 1 else "Changed"
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=kind,
                object_key=f"{noun}:{record.pk}",
                period=f"v{record.version}",
                title=f"{novelty} {noun} for federal attention: {record.title} ({record.city.label})"[:400],
                data={"reasons": reasons},
                **{noun: record},
            )
            for user in _may_see(liaisons, record)
        ]
    )


def notify_engagement_alert(engagement_id: int) -> list[int]:
    """An engagement that requests federal coordination or has a watch-list counterpart."""
    engagement = Engagement.objects.select_related("city").filter(pk=engagement_id).first()
    if engagement is None:
        return []
    reasons = attention_reasons(engagement)
    return _alert_covering_liaisons(engagement, Kind.ENGAGEMENT_ALERT, reasons) if reasons else []


def notify_review(review_id: int) -> list[int]:
    """Tell the engagement's author and its city's staff what a liaison decided."""
    review = (
        Review.objects.select_related("engagement__city", "engagement__created_by", "reviewer")
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        return []
    engagement = review.engagement
    recipients = {user.pk: user for user in _city_staff([engagement.city_id])[engagement.city_id]}
    if engagement.created_by is not None:
        recipients.setdefault(engagement.created_by_id, engagement.created_by)
    recipients.pop(review.reviewer_id, None)
    preload_access(recipients.values())
    reviewer = review.reviewer.display_name()
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=Kind.REVIEW,
                object_key=f"review:{review.pk}",
                title=f"{review.get_decision_display()} by {reviewer}: {engagement.title}",
                data={
                    "decision": review.get_decision_display(),
                    "reviewer": reviewer,
                    "comment": review.comment[:2000],
                },
                engagement=engagement,
                review=review,
            )
            for user in _may_see(recipients.values(), review)
        ]
    )


def agreements_needing_liaison_attention(agreement_ids: Iterable[int]) -> list[int]:
    """Which of these agreements have a watch-list counterpart country (one query)."""
    agreements = Agreement.objects.filter(counterpart_countries__watch__isnull=False, id__any_of=agreement_ids)
    return sorted(set(agreements.values_list("pk", flat=True)))


def notify_agreement_alert(agreement_id: int) -> list[int]:
    """An agreement with a watch-list counterpart (SPEC §3, §8.2)."""
    agreement = Agreement.objects.select_related("city").filter(pk=agreement_id).first()
    if agreement is None:
        return []
    reasons = _watch_list_reasons(agreement)
    return _alert_covering_liaisons(agreement, Kind.AGREEMENT_ALERT, reasons) if reasons else []


def notify_flags_raised(flag_ids: Iterable[int]) -> list[int]:
    from .compliance_notices import notify_flags_raised as notify

    return notify(flag_ids)
