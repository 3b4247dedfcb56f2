from django.db import models

from accounts.policy import engagement_child_q, visible_q

from .write_path import check_write_path


class CityRecordQuerySet(models.QuerySet):
    """Agreements and engagements: reads scoped by the policy, writes only on the write path."""

    def visible_to(self, user):
        return self.filter(visible_q(user))

    def update(self, **kwargs):
        check_write_path(self.model)
        return super().update(**kwargs)

    def delete(self):
        check_write_path(self.model)
        return super().delete()

    def bulk_create(self, objs, *args, **kwargs):
        check_write_path(self.model)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        check_write_path(self.model)
        return super().bulk_update(objs, fields, *args, **kwargs)


class AgreementQuerySet(CityRecordQuerySet):
    pass


class EngagementQuerySet(CityRecordQuerySet):
    pass


class FollowUpQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(engagement_child_q(user))

    def open(self):
        return self.filter(done_at__isnull=True)


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(engagement_child_q(user))
