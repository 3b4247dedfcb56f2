"""`/calendar/`: internal readers issue a feed (its address shown once), list their feeds and revoke
them; partners and the public have none."""

import re

import pytest
from django.test import Client

from calendars.models import CalendarFeed, token_digest
from calendars.services import issue_feed

from .conftest import read_feed, summaries

pytestmark = pytest.mark.django_db
FEED_URL = re.compile(r'value="(http://testserver/calendar/([A-Za-z0-9_-]+)\.ics[^"]*)"')


def signed_in(user, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token(client) -> str:
    page = client.get("/calendar/")
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


@pytest.mark.parametrize("who", ["staff_a", "liaison", "admin"])
def test_internal_readers_open_the_page(cast, who):
    response = signed_in(cast[who]).get("/calendar/")
    assert response.status_code == 200
    assert b"Issue a feed address" in response.content


def test_partners_are_refused_and_the_public_is_sent_to_sign_in(partner):
    assert signed_in(partner).get("/calendar/").status_code == 403
    assert signed_in(partner).post("/calendar/", {"label": "x"}).status_code == 403
    assert not CalendarFeed.objects.exists()
    response = Client().get("/calendar/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/calendar/")


def test_the_menu_links_to_the_page_for_internal_readers_only(staff_a, partner):
    assert b'href="/calendar/"' in signed_in(staff_a).get("/notifications/").content
    assert b'href="/calendar/"' not in signed_in(partner).get("/notifications/").content


def test_issuing_shows_the_address_once_and_stores_only_its_digest(staff_a, records):
    client = signed_in(staff_a, csrf=True)
    response = client.post("/calendar/", {"label": "Work phone", "csrfmiddlewaretoken": csrf_token(client)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    url, token = FEED_URL.search(body).groups()
    assert f'href="webcal://testserver/calendar/{token}.ics"' in body
    feed = CalendarFeed.objects.get(user=staff_a)
    assert feed.label == "Work phone" and feed.token_digest == token_digest(token)
    # The address works, and is never shown again.
    assert "Engagement A-restricted" in summaries(read_feed(url.replace("http://testserver", ""))[1])
    again = client.get("/calendar/").content.decode()
    assert token not in again
    assert "Work phone" in again


def test_filters_chosen_at_issue_are_written_into_the_address(staff_a, city_a, records):
    client = signed_in(staff_a)
    response = client.post(
        "/calendar/",
        {"label": "LA", "cities": [city_a.slug], "states": ["US-CA"], "kinds": ["engagements", "expiries"]},
    )
    url, _token = FEED_URL.search(response.content.decode()).groups()
    path = url.replace("http://testserver", "").replace("&amp;", "&")
    assert path.endswith(f"?city={city_a.slug}&state=US-CA&kinds=engagements%2Cexpiries")
    calendar = read_feed(path)[1]
    text = summaries(calendar)
    assert "Engagement A-public" in text and "Expires: Agreement A-public" in text
    assert "Engagement B-public" not in text and "Renewal due" not in text
    assert CalendarFeed.objects.get(user=staff_a).covers == "Los Angeles; US-CA; engagements, agreement expiries"


def test_a_bad_choice_is_shown_next_to_its_field_and_issues_nothing(staff_a, city_b):
    response = signed_in(staff_a).post("/calendar/", {"states": ["US-ZZ"], "cities": [city_b.slug]})
    assert response.status_code == 200
    assert not CalendarFeed.objects.exists()
    body = response.content.decode()
    assert "US-ZZ is not one of the available choices" in body
    assert 'id="field-cities"' in body and "has-error" in body


def test_revoking_needs_csrf_and_ends_the_address(staff_a):
    feed, token = issue_feed(user=staff_a, label="Laptop")
    client = signed_in(staff_a, csrf=True)
    assert client.post(f"/calendar/{feed.pk}/revoke/").status_code == 403  # no CSRF token
    assert Client().get(f"/calendar/{token}.ics").status_code == 200
    response = client.post(f"/calendar/{feed.pk}/revoke/", {"csrfmiddlewaretoken": csrf_token(client)}, follow=True)
    assert response.redirect_chain[-1][0] == "/calendar/"
    assert "Revoked “Laptop”" in response.content.decode()
    assert Client().get(f"/calendar/{token}.ics").status_code == 404
    assert "Laptop" not in response.content.decode().split("Your feeds", 1)[1]


def test_nobody_revokes_another_persons_feed(staff_a, staff_b):
    feed, token = issue_feed(user=staff_a)
    assert signed_in(staff_b).post(f"/calendar/{feed.pk}/revoke/").status_code == 404
    assert Client().get(f"/calendar/{token}.ics").status_code == 200


def test_the_page_lists_only_ones_own_active_feeds(staff_a, staff_b):
    issue_feed(user=staff_a, label="Alice's phone")
    issue_feed(user=staff_b, label="Bob's phone")
    revoked, _ = issue_feed(user=staff_a, label="Old tablet")
    CalendarFeed.objects.filter(pk=revoked.pk).update(revoked_at="2026-01-01T00:00:00Z")
    body = signed_in(staff_a).get("/calendar/").content.decode()
    assert "Alice&#x27;s phone" in body
    assert "Bob" not in body.split("Your feeds", 1)[1]
    assert "Old tablet" not in body


def test_issuing_with_nothing_chosen_makes_a_feed_of_everything(staff_a):
    response = signed_in(staff_a).post("/calendar/")
    url, _token = FEED_URL.search(response.content.decode()).groups()
    assert "?" not in url
    feed = CalendarFeed.objects.get(user=staff_a)
    assert (feed.label, feed.covers) == ("", "")
    assert "Everything you may see" in signed_in(staff_a).get("/calendar/").content.decode()


def test_a_liaison_makes_a_portfolio_feed(records):
    from tests import factories

    west = factories.UserFactory(username="wes", role="liaison")
    west.portfolio_states.create(subdivision="US-IL")
    client = signed_in(west)
    assert "US-IL: a portfolio feed" in client.get("/calendar/").content.decode()
    response = client.post("/calendar/", {"portfolio": "on"})
    url, _token = FEED_URL.search(response.content.decode()).groups()
    assert url.endswith("?state=US-IL")
    text = summaries(read_feed(url.replace("http://testserver", ""))[1])
    assert "Engagement B-restricted" in text and "Engagement A-public" not in text
    assert CalendarFeed.objects.get(user=west).covers == "US-IL"
