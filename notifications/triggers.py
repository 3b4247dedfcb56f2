"""Event triggers: who is told, at once, of an engagement needing federal attention and of a
liaison's review. Each version of an engagement and each review is one event."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from accounts.models import Role, User
from accounts.policy import Action, can, preload_access
from cities.models import WatchedCountry
from engagements.models import Agreement, Engagement, Review
from utilities.sqlbulk import among

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


def attention_reasons(engagement: Engagement) -> list[str]:
    """Why liaisons should look at this engagement: a federal-coordination request and each
    counterpart country on the watch list."""
    reasons = ["Federal coordination requested"] if engagement.federal_coordination_requested else []
    watched = WatchedCountry.objects.filter(country__in=engagement.counterpart_countries.all()).select_related(
        "country"
    )
    reasons += [f"Watch-list counterpart: {watch.country.name}" for watch in watched]
    return reasons


def needing_liaison_attention(engagement_ids: Iterable[int]) -> list[int]:
    """Which of these engagements request federal coordination or have a watch-list counterpart:
    the one-query test made before any alert job is enqueued."""
    attention = Q(federal_coordination_requested=True) | Q(counterpart_countries__watch__isnull=False)
    engagements = among(Engagement.objects.filter(attention), "id", list(engagement_ids))
    return sorted(set(engagements.values_list("pk", flat=True)))


def notify_engagement_alert(engagement_id: int) -> list[int]:
    """Tell the liaisons whose portfolio covers the engagement's state that it requests federal
    coordination or has a watch-list counterpart. Each version of the engagement is one event."""
    engagement = Engagement.objects.select_related("city").filter(pk=engagement_id).first()
    if engagement is None:
        return []
    reasons = attention_reasons(engagement)
    if not reasons:
        return []
    liaisons = list(
        User.objects.filter(role=Role.LIAISON, is_active=True)
        .filter(Q(portfolio_all=True) | Q(portfolio_states__subdivision=engagement.city.subdivision))
        .distinct()
    )
    preload_access(liaisons)
    novelty = "New" if engagement.version == 1 else "Changed"
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=Kind.ENGAGEMENT_ALERT,
                object_key=f"engagement:{engagement.pk}",
                period=f"v{engagement.version}",
                title=f"{novelty} engagement for federal attention: {engagement.title} ({engagement.city.label})",
                data={"reasons": reasons},
                engagement=engagement,
            )
            for user in _may_see(liaisons, engagement)
        ]
    )


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
    return sorted(
        set(
            Agreement.objects.filter(
                pk__in=list(agreement_ids), counterpart_countries__watch__isnull=False
            ).values_list("pk", flat=True)
        )
    )


def notify_agreement_alert(agreement_id: int) -> list[int]:
    """Tell the liaisons whose portfolio covers the agreement's state that it has a watch-list
    counterpart (SPEC §3, §8.2). Each version of the agreement is one event."""
    agreement = Agreement.objects.select_related("city").filter(pk=agreement_id).first()
    if agreement is None:
        return []
    watched = WatchedCountry.objects.filter(country__in=agreement.counterpart_countries.all()).select_related("country")
    reasons = [f"Watch-list counterpart: {watch.country.name}" for watch in watched]
    if not reasons:
        return []
    liaisons = list(
        User.objects.filter(role=Role.LIAISON, is_active=True)
        .filter(Q(portfolio_all=True) | Q(portfolio_states__subdivision=agreement.city.subdivision))
        .distinct()
    )
    preload_access(liaisons)
    novelty = "New" if agreement.version == 1 else "Changed"
    return create_notifications(
        [
            Notification(
                recipient=user,
                kind=Kind.AGREEMENT_ALERT,
                object_key=f"agreement:{agreement.pk}",
                period=f"v{agreement.version}",
                title=f"{novelty} agreement for federal attention: {agreement.title} ({agreement.city.label})"[:400],
                data={"reasons": reasons},
                agreement=agreement,
            )
            for user in _may_see(liaisons, agreement)
        ]
    )


def notify_flags_raised(flag_ids: Iterable[int]) -> list[int]:
    from .compliance_notices import notify_flags_raised as notify

    return notify(flag_ids)
