from django.db import models
from django.db.models import Q

from accounts.policy import visible_q


def _visible_or_absent(user, relation: str) -> Q:
    condition = visible_q(user, prefix=f"{relation}__")
    # `Q(...) | Q()` drops the empty side instead of matching everything, so say it plainly.
    if not condition:
        return Q()
    return Q(**{f"{relation}__isnull": True}) | condition


class NotificationQuerySet(models.QuerySet):
    def inbox(self, user):
        """The user's own notifications about records they may still see.

        Review and follow-up notifications carry their engagement, so its visibility covers them.
        """
        return self.filter(recipient=user).filter(
            _visible_or_absent(user, "engagement"), _visible_or_absent(user, "agreement")
        )

    def unread(self):
        return self.filter(read_at__isnull=True)
