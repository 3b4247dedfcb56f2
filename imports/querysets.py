from django.db import models

from accounts.policy import is_admin


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Admins see every import; anyone else sees their own (see `can` in accounts.policy)."""
        if is_admin(user):
            return self
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(owner=user)
