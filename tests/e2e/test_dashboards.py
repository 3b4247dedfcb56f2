"""A liaison reads the national dashboard, narrows it with a filter, and reviews an engagement
from the queue in place; the city's staff then see the review on their desk."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagements.services import save_engagement
from tests import factories
from tests.e2e.conftest import login, screenshot

# The live server needs committed data; serialized rollback puts back the reference data
# (topics) that migrations load, for the tests that run after these.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct horse battery"


@pytest.fixture
def world(db):
    """Los Angeles (staff: alice) with three engagements this year, Chicago with two, and lena,
    a liaison covering every state."""
    admin = factories.UserFactory(username="root", role="admin", is_superuser=True, is_staff=True)
    los_angeles = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
    chicago = factories.CityFactory(name="Chicago", subdivision="US-IL", population=2_700_000)
    nagoya = factories.CityFactory(name="Nagoya", country=factories.country("JP"), subdivision="")
    berlin = factories.CityFactory(name="Berlin", country=factories.country("DE"), subdivision="")
    climate = factories.topic("climate")
    this_year = dt.date(timezone.localdate().year, 1, 20)
    made = []
    for city, partner, visibility in [
        (los_angeles, nagoya, "public"),
        (los_angeles, nagoya, "internal"),
        (los_angeles, berlin, "restricted"),
        (chicago, berlin, "internal"),
        (chicago, nagoya, "public"),
    ]:
        made.append(
            save_engagement(
                actor=admin,
                data={
                    "city": city,
                    "title": f"{city.name} meets {partner.name} ({visibility})",
                    "kind": "bilateral_meeting",
                    "status": "completed",
                    "start_date": this_year,
                    "visibility": visibility,
                    "counterpart_cities": [partner],
                    "topics": [climate],
                    "federal_coordination_requested": partner == berlin,
                },
            )
        )
    factories.UserFactory(username="alice", home_cities=[los_angeles])
    factories.UserFactory(username="lena", role="liaison", portfolio_all=True)
    return {"engagements": made}


def test_the_dashboard_draws_charts_and_map_and_a_filter_changes_the_numbers(page, live_server, world):
    login(page, live_server, "lena", PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")

    expect(page.get_by_test_id("engagements-this-year")).to_contain_text("5")
    expect(page.get_by_test_id("chart-city").locator("rect.bar")).to_have_count(2)
    expect(page.get_by_test_id("chart-month").locator("rect.bar")).to_have_count(24)
    world_map = page.get_by_test_id("world-map")
    assert world_map.locator("path").count() > 150
    japan = world_map.locator('path[data-iso2="JP"]')
    assert len(japan.get_attribute("d")) > 100
    assert japan.get_attribute("fill").startswith("url(#wm-b")
    box = japan.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 5
    assert world_map.locator('path[data-iso2="FR"]').get_attribute("fill") is None
    screenshot(page, "dashboard-liaison")

    page.locator("#f-state").select_option("US-IL")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**state=US-IL**")
    expect(page.get_by_test_id("engagements-this-year")).to_contain_text("2")
    expect(page.get_by_test_id("chart-city").locator("rect.bar")).to_have_count(1)
    expect(page.get_by_test_id("filter-summary")).to_contain_text("Illinois (US-IL)")
    page.emulate_media(media="print")
    expect(page.locator("form.filters")).to_be_hidden()
    screenshot(page, "dashboard-filtered-print")


def test_a_liaison_reviews_in_place_and_the_staff_desk_shows_the_review(page, new_page, live_server, world):
    login(page, live_server, "lena", PASSWORD)
    page.goto(f"{live_server.url}/review/")
    titles = page.get_by_test_id("review-title")
    # Federal-coordination requests come first.
    expect(titles.first).to_contain_text("meets Berlin")
    engagement = world["engagements"][0]
    row = page.locator(f"#review-row-{engagement.pk}")
    row.get_by_label("Comment").fill("Please loop in the consulate in Nagoya")
    page.evaluate("window.stillTheSamePage = true")
    row.get_by_role("button", name="Needs follow-up").click()

    expect(row.get_by_test_id("review-status")).to_contain_text("Needs follow-up")
    expect(row.get_by_role("status")).to_have_text("Review saved.")
    assert page.evaluate("window.stillTheSamePage") is True, "the review reloaded the whole page"
    screenshot(page, "review-queue-reviewed-in-place")

    staff = new_page()
    login(staff, live_server, "alice", PASSWORD)
    staff.goto(f"{live_server.url}/")
    reviews = staff.locator("section", has=staff.get_by_role("heading", name="Recent liaison reviews"))
    expect(reviews).to_contain_text("Needs follow-up")
    expect(reviews).to_contain_text("Please loop in the consulate in Nagoya")
    screenshot(staff, "staff-desk-shows-review")
