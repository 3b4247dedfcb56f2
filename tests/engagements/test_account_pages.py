"""Signing in and out, changing and resetting a password, and what the header shows."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def test_sign_in_page_labels_every_input(db):
    html = Client().get(reverse("login")).content.decode()
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'name="username"' in html and 'name="password"' in html


def test_staff_sign_in_and_see_who_they_are_and_their_city(staff_a):
    client = Client()
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)
    html = response.content.decode()
    assert "Signed in as <strong>alice</strong>" in html
    assert "Los Angeles" in html
    assert reverse("engagement-list") in html and reverse("notifications:inbox") in html


def test_a_wrong_password_is_refused_with_a_message(staff_a):
    response = Client().post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(staff_a):
    client = Client()
    client.force_login(staff_a)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("engagement-list")).status_code == 302


def test_the_session_expires_after_two_hours_without_activity(settings):
    assert settings.SESSION_COOKIE_AGE == 2 * 60 * 60 and settings.SESSION_SAVE_EVERY_REQUEST


def test_password_change(staff_a):
    client = Client()
    client.force_login(staff_a)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer secret 42",
            "new_password2": "a much longer secret 42",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    staff_a.refresh_from_db()
    assert staff_a.check_password("a much longer secret 42")


def test_password_reset_by_email(staff_a):
    client = Client()
    page = client.get(reverse("password_reset")).content.decode()
    assert '<label for="id_email">' in page
    client.post(reverse("password_reset"), {"email": staff_a.email})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "another long secret 77", "new_password2": "another long secret 77"},
    )
    assert response["Location"] == reverse("password_reset_complete")
    staff_a.refresh_from_db()
    assert staff_a.check_password("another long secret 77")


def test_registration_pages_use_the_site_layout(staff_a):
    client = Client()
    for name in ("password_reset", "password_reset_done", "password_reset_complete"):
        html = client.get(reverse(name)).content.decode()
        assert "/static/css/app.css" in html and "Django administration" not in html, name


@pytest.mark.parametrize(
    ("reader", "offered"),
    [("staff_a", True), ("liaison", True), ("admin_user", True), ("partner", False), (None, False)],
)
def test_the_header_offers_internal_surfaces_to_internal_readers_only(request, reader, offered):
    client = Client()
    if reader:
        client.force_login(request.getfixturevalue(reader))
    html = client.get(reverse("search"), {"q": "anything"}).content.decode()
    for path in (reverse("contact-list"), reverse("calendars:index"), reverse("dashboard")):
        assert (f'href="{path}"' in html) is offered, path
    assert ("contacts," in html) is offered
