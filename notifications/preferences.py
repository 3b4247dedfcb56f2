"""Which kinds of notification each user is emailed."""

from collections.abc import Iterable

from accounts.models import Role
from accounts.policy import role_of

from .models import EmailPreference, Kind


def email_kinds_for(user) -> list[Kind]:
    """The kinds of notification a user of this role can receive, for the preferences form."""
    role = role_of(user)
    if role == Role.LIAISON:
        return [Kind.ENGAGEMENT_ALERT, Kind.WEEKLY_DIGEST]
    if role == Role.STAFF:
        return [Kind.REVIEW, Kind.AGREEMENT_EXPIRING, Kind.FOLLOW_UP_DUE, Kind.FOLLOW_UP_OVERDUE]
    if role == Role.ADMIN:
        return list(Kind)
    return []


def email_preferences(user) -> dict[str, bool]:
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind.value: chosen.get(kind.value, True) for kind in email_kinds_for(user)}


def set_email_preferences(*, user, emailed_kinds: Iterable[str]) -> None:
    """Email the user for exactly these kinds (of those their role receives)."""
    wanted = set(emailed_kinds)
    for kind in email_kinds_for(user):
        EmailPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": kind.value in wanted})
