"""People: their role, the home cities staff work for, and the states a liaison covers."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    STAFF = "staff", "City staff"
    LIAISON = "liaison", "Federal liaison"
    PARTNER = "partner", "Partner"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    """A signed-in person. What they may see and do follows from `role` (see `accounts.policy`)."""

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    home_cities = models.ManyToManyField("cities.City", blank=True, related_name="staff_users")
    # A liaison's portfolio: every state, or the states listed in `portfolio_states`.
    portfolio_all = models.BooleanField(default=False)

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="admin") | Q(is_superuser=True),
                name="user_admin_role_is_superuser",
            )
        ]

    @property
    def is_admin(self):
        return self.is_superuser

    def display_name(self):
        return self.get_full_name() or self.username


class PortfolioState(models.Model):
    """One US state (ISO 3166-2, e.g. `US-CA`) in a liaison's portfolio."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="portfolio_states")
    subdivision = models.CharField(max_length=6)

    class Meta:
        ordering = ["subdivision"]
        constraints = [
            models.UniqueConstraint(fields=["user", "subdivision"], name="portfolio_state_unique"),
        ]

    def __str__(self):
        return self.subdivision


class FormSubmission(models.Model):
    """A create form's one-time token, claimed by the first submission that carries it: the same
    form sent again (a double click, a retried request) finds the record the first one made
    rather than making another. The unique token is the claim; the record is named by path."""

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    record_url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return str(self.token)
