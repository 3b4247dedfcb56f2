from django.db import models

from accounts.policy import engagement_child_q, visible_q


class AgreementQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(visible_q(user))


class EngagementQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(visible_q(user))


class FollowUpQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(engagement_child_q(user))

    def open(self):
        return self.filter(done_at__isnull=True)


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(engagement_child_q(user))
