"""API token authentication: knox's hashed tokens, checked without a query per call that finds
nothing to do."""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """knox reads all of the caller's other tokens on every request to delete expired ones.
    Tokens here do not expire (`REST_KNOX["TOKEN_TTL"]` is None), so that sweep costs a query
    per API call and never deletes anything; an expired token is still refused, and deleted."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The schema documents the token as knox's (`Authorization: Token <key>`)."""

    target_class = "accounts.authentication.TokenAuthentication"
