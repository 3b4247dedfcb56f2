"""Writes of people and their access: create or update a user, issue and revoke API tokens."""

from collections.abc import Sequence

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken

from .models import FormSubmission, PortfolioState, Role, User

# The states, DC and the inhabited territories, as the suffix of their ISO 3166-2 code.
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "  # noqa: SIM905
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()  # noqa: SIM905
)


def normalise_portfolio(codes: Sequence[str]) -> tuple[bool, list[str]]:
    """`["all"]` -> every state; `["us-ca", "US-NY"]` -> those states. Raises on anything else."""
    cleaned = [code.strip().upper() for code in codes if code.strip()]
    if "ALL" in cleaned:
        return True, []
    bad = [code for code in cleaned if not (code.startswith("US-") and code[3:] in US_STATES)]
    if bad:
        raise ValidationError(f"Not a US state code: {', '.join(bad)} (write e.g. US-CA, or 'all').")
    return False, sorted(set(cleaned))


@transaction.atomic
def save_user(
    *,
    username: str,
    role: str,
    cities: Sequence = (),
    portfolio: Sequence[str] = (),
    password: str | None = None,
    email: str | None = None,
) -> tuple[User, bool]:
    """Create the user or bring an existing one to exactly this role, cities and portfolio."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role “{role}”: choose one of {', '.join(Role.values)}.")
    if cities and role != Role.STAFF:
        raise ValidationError("Only staff users have home cities (--city).")
    if portfolio and role != Role.LIAISON:
        raise ValidationError("Only liaisons have a portfolio (--portfolio).")
    portfolio_all, states = normalise_portfolio(portfolio)
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username)
    user.role = role
    user.is_superuser = user.is_staff = role == Role.ADMIN
    user.portfolio_all = portfolio_all
    if email is not None:
        user.email = email
    if password is not None:
        # The same validators as the password change form (AUTH_PASSWORD_VALIDATORS).
        password_validation.validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    if cities or created or role != Role.STAFF:
        user.home_cities.set(cities)
    if portfolio or created or role != Role.LIAISON:
        user.portfolio_states.all().delete()
        PortfolioState.objects.bulk_create([PortfolioState(user=user, subdivision=code) for code in states])
    return user, created


def issue_token(*, user: User) -> str:
    """A new API token for `user`. Only its digest is stored: the returned key is shown once."""
    _, key = AuthToken.objects.create(user=user)
    return key


def revoke_tokens(*, user: User) -> int:
    count, _ = AuthToken.objects.filter(user=user).delete()
    return count


class AlreadySubmitted(Exception):
    """The form's token was claimed by an earlier submission; `record_url` is what it made."""

    def __init__(self, record_url: str):
        super().__init__(record_url)
        self.record_url = record_url


def claim_submission(*, user, token) -> FormSubmission | None:
    """Claim a create form's one-time token inside the caller's transaction (None without a
    token). The unique key decides: a concurrent submission of the same token waits here until
    the first commits, then raises AlreadySubmitted with the first one's record; if the first
    rolled back (a validation error), the token is free again."""
    if token is None:
        return None
    try:
        with transaction.atomic():
            return FormSubmission.objects.create(token=token, user=user)
    except IntegrityError:
        earlier = FormSubmission.objects.filter(token=token, user=user).first()
        raise AlreadySubmitted(earlier.record_url if earlier else "") from None


def record_submission(claim: FormSubmission | None, record_url: str) -> None:
    if claim is not None:
        FormSubmission.objects.filter(pk=claim.pk).update(record_url=record_url)
