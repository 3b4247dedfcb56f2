"""API tokens: the project's knox authentication reads one row per call and still refuses
expired and unknown tokens."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.services import issue_token
from tests import factories

pytestmark = pytest.mark.django_db


def get_topics(key: str):
    return APIClient().get("/api/v1/topics/", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_is_checked_with_one_query():
    key = issue_token(user=factories.UserFactory(role="partner"))
    get_topics(key)
    with CaptureQueriesContext(connection) as queries:
        assert get_topics(key).status_code == 200
    token_reads = [query for query in queries if "knox_authtoken" in query["sql"]]
    assert len(token_reads) == 1


def test_an_expired_token_is_refused_and_deleted():
    user = factories.UserFactory(role="partner")
    key = issue_token(user=user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - dt.timedelta(minutes=1))
    assert get_topics(key).status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_unknown_and_revoked_tokens_are_refused():
    user = factories.UserFactory(role="partner")
    key = issue_token(user=user)
    assert get_topics(key[:-2] + "00").status_code == 401
    AuthToken.objects.filter(user=user).delete()
    assert get_topics(key).status_code == 401


def test_the_token_and_its_user_are_read_in_one_statement():
    user = factories.UserFactory(role="partner")
    key = issue_token(user=user)
    get_topics(key)
    with CaptureQueriesContext(connection) as queries:
        assert get_topics(key).status_code == 200
    # The user comes with the token: no query reads the user table alone.
    assert not [query for query in queries if query["sql"].lstrip().startswith('SELECT "accounts_user"')]
    request = APIClient().get("/api/v1/topics/", HTTP_AUTHORIZATION=f"Token {key}").wsgi_request
    assert request.user == user
    assert request.user.role == "partner"


def test_a_token_of_a_deactivated_user_is_refused():
    user = factories.UserFactory(role="partner")
    key = issue_token(user=user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert get_topics(key).status_code == 401


@pytest.mark.parametrize("key", ["zz" * 32, "ünïcode", "0" * 3, "0" * 512])
def test_malformed_tokens_are_refused_not_errors(key):
    factories.UserFactory(role="partner")
    assert get_topics(key).status_code == 401
