"""API token authentication: knox's hashed tokens, each call checked by one read written once."""

import functools

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from rest_framework import exceptions

from utilities.prepared import fetch_prepared

from .models import User

TOKEN_FIELDS = ("digest", "token_key", "user_id", "created", "expiry")


class TokenAuthentication(KnoxTokenAuthentication):
    """knox finds a token by its first characters, then compares digests, and on every call
    reads all of the caller's other tokens to delete expired ones; through the ORM that was 0.6 ms
    of the 3.3 ms the cheapest API call took in-process. Here the token is found by its
    digest, which is the table's primary key (a digest names one token: SHA-512 of a token
    matches no other), with its user, in one statement written once and prepared. Tokens here do not expire
    (`REST_KNOX["TOKEN_TTL"]` is None), so the sweep would never delete anything; an expired
    token is still refused, and deleted."""

    def authenticate_credentials(self, token: bytes):
        refused = exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            digest = hash_token(token.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise refused from error
        auth_token = _token_with_user(digest)
        if auth_token is None:
            raise refused
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            raise refused
        return self.validate_user(auth_token)


def _token_with_user(digest: str):
    """The token of `digest` with its user attached, or None."""
    rows = fetch_prepared(connection, _token_sql(), [digest])
    if not rows:
        return None
    (row,) = rows
    token_model = get_token_model()
    auth_token = token_model.from_db(connection.alias, TOKEN_FIELDS, row[: len(TOKEN_FIELDS)])
    auth_token.user = User.from_db(connection.alias, _user_fields(), row[len(TOKEN_FIELDS) :])
    return auth_token


@functools.cache
def _user_fields() -> tuple[str, ...]:
    return tuple(field.attname for field in User._meta.concrete_fields)


@functools.cache
def _token_sql() -> str:
    """The token and its user's columns, in `TOKEN_FIELDS` then the user's field order."""
    token_meta, user_meta = get_token_model()._meta, User._meta
    quote = connection.ops.quote_name
    owner = token_meta.get_field("user").column
    columns = [f"t.{quote(token_meta.get_field(name).column)}" for name in TOKEN_FIELDS]
    columns += [f"u.{quote(field.column)}" for field in user_meta.concrete_fields]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(token_meta.db_table)} AS t "  # noqa: S608 - model metadata
        f"JOIN {quote(user_meta.db_table)} AS u ON u.{quote(user_meta.pk.column)} = t.{quote(owner)} "
        f"WHERE t.{quote(token_meta.pk.column)} = %s"
    )


class TokenScheme(KnoxTokenScheme):
    """The schema documents the token as knox's (`Authorization: Token <key>`)."""

    target_class = "accounts.authentication.TokenAuthentication"
