"""A staff member logs, finds, exports and edits an engagement in a real browser."""

import csv
import datetime as dt
import io

import pytest
from playwright.sync_api import expect

from engagements.models import Engagement
from engagements.services import save_engagement
from tests import factories
from tests.e2e.conftest import login, screenshot

# The live server needs committed data; serialized rollback puts back the reference data
# (topics) that migrations load, for the tests that run after these.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct horse battery"


@pytest.fixture
def world(db):
    """Los Angeles with its staff member alice, and cities abroad to pick from."""
    los_angeles = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
    japan, germany = factories.country("JP"), factories.country("DE")
    factories.CityFactory(name="Nagoya", country=japan, subdivision="", population=2_300_000)
    factories.CityFactory(name="Nagareyama", country=japan, subdivision="", population=200_000)
    factories.CityFactory(name="Berlin", country=germany, subdivision="", population=3_600_000)
    factories.topic("trade-investment")
    alice = factories.UserFactory(username="alice", first_name="Alice", last_name="Park", home_cities=[los_angeles])
    return {"city": los_angeles, "alice": alice}


def pick_city(page, label: str, typed: str, choice: str) -> None:
    box = page.get_by_role("combobox", name=label)
    box.fill(typed)
    option = page.get_by_role("option", name=choice)
    expect(option).to_be_visible()
    box.press("Enter")
    expect(page.locator(".chip", has_text=choice)).to_be_visible()


def test_staff_log_find_export_and_edit_an_engagement(page, live_server, world):
    login(page, live_server, "alice", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Los Angeles")
    page.get_by_role("link", name="Log an engagement").click()

    page.locator("#id_title").fill("Delegation from Nagoya <b>City</b>")
    page.locator("#id_kind").select_option(label="Inbound delegation")
    page.get_by_label("Start date").fill("2026-05-04")
    pick_city(page, "Counterpart cities", "nago", "Nagoya, JP")
    screenshot(page, "log-engagement-type-ahead")

    page.get_by_text("New organisation").click()
    page.get_by_label("Organisation name").fill("Consulate-General of Japan in Los Angeles")
    page.locator("#id_organization-kind").select_option(label="Embassy or consulate")
    page.locator("#id_organization-country").select_option(label="Japan")
    page.get_by_role("button", name="Add organisation").click()
    expect(
        page.get_by_role("status").filter(has_text="Added “Consulate-General of Japan in Los Angeles”")
    ).to_be_visible()
    expect(page.locator("#id_counterpart_organizations_chips .chip")).to_have_text(
        "Consulate-General of Japan in Los Angeles"
    )
    page.get_by_label("Trade and investment").check()
    page.locator("#id_participants-0-name").fill("Mayor Kawamura")
    page.get_by_role("button", name="Log engagement").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Delegation from Nagoya <b>City</b>")
    expect(page.get_by_text("Consulate-General of Japan in Los Angeles")).to_be_visible()
    engagement = Engagement.objects.get()
    assert [c.name for c in engagement.counterpart_cities.all()] == ["Nagoya"]
    assert sorted(engagement.counterpart_countries.values_list("iso2", flat=True)) == ["JP"]
    assert engagement.participants.get().name == "Mayor Kawamura"

    # Find it in the filtered list; the filters live in the URL.
    factories.EngagementFactory(city=world["city"], title="Climate summit", kind="conference")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements").click()
    page.locator("summary", has_text="Kind").click()
    page.get_by_label("Inbound delegation").check()
    page.get_by_label("Counterpart country").select_option(label="Japan")
    page.get_by_role("button", name="Apply filters").click()
    assert "kind=inbound_delegation" in page.url and "counterpart_country=JP" in page.url
    expect(page.get_by_role("status").filter(has_text="result")).to_have_text("1 result")
    expect(page.get_by_role("link", name="Climate summit")).to_have_count(0)
    screenshot(page, "engagement-list-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
    assert [(row["title"], row["counterpart_cities"]) for row in rows] == [
        ("Delegation from Nagoya <b>City</b>", "Nagoya, JP")
    ]

    page.get_by_role("link", name="Delegation from Nagoya <b>City</b>").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.locator("#id_title").fill("Delegation from Nagoya City")
    page.locator("#id_status").select_option(label="Completed")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegation from Nagoya City")
    history = page.locator(".history")
    expect(history.locator("tr", has_text="Title")).to_contain_text("Delegation from Nagoya City")
    expect(history.locator("tr", has_text="Status")).to_contain_text("Planned")
    expect(history).to_contain_text("Alice Park changed this record")


def test_a_second_browser_saving_first_is_shown_as_a_conflict(page, new_page, live_server, world):
    colleague = factories.UserFactory(
        username="carlos", first_name="Carlos", last_name="Vega", home_cities=[world["city"]]
    )
    engagement = save_engagement(
        actor=world["alice"],
        data={
            "city": world["city"],
            "title": "Berlin partnership visit",
            "kind": "outbound_delegation",
            "status": "planned",
            "start_date": dt.date(2026, 9, 1),
        },
    )
    login(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/edit/")
    page.get_by_label("Venue").fill("Rotes Rathaus")
    page.locator("#id_title").fill("Berlin partnership visit (mayor attends)")

    other = new_page()
    login(other, live_server, colleague.username, PASSWORD)
    other.goto(f"{live_server.url}/engagements/{engagement.pk}/edit/")
    other.locator("#id_status").select_option(label="Confirmed")
    other.get_by_role("button", name="Save changes").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Berlin partnership visit")

    page.get_by_role("button", name="Save changes").click()
    alert = page.locator(".conflict")
    expect(alert).to_be_focused()
    expect(alert).to_contain_text("Carlos Vega saved this engagement while you were editing")
    expect(alert.locator("tr", has_text="Status")).to_contain_text("Confirmed")
    expect(alert.locator("tr", has_text="Title")).to_contain_text("Berlin partnership visit (mayor attends)")
    expect(page.locator("#id_title")).to_have_value("Berlin partnership visit (mayor attends)")
    expect(page.get_by_label("Venue")).to_have_value("Rotes Rathaus")
    screenshot(page, "stale-edit-conflict")
    engagement.refresh_from_db()
    assert engagement.title == "Berlin partnership visit" and engagement.status == "confirmed"

    # Saving again, having seen their change, is a deliberate overwrite.
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Berlin partnership visit (mayor attends)")


class Keyboard:
    """Only the keyboard, and every key counted."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)

    def tab_to(self, accessible_name: str, limit: int = 60) -> None:
        """Tab until the focused element is the one named (each Tab counted)."""
        for _ in range(limit):
            self.press("Tab")
            if self.page.evaluate(
                "() => document.activeElement.matches('input,select,textarea,button,a,summary')"
            ) and (
                self.page.evaluate(
                    """(name) => {
                        const el = document.activeElement;
                        const label = el.labels && el.labels[0] ? el.labels[0].textContent : el.textContent;
                        return (label || '').trim().startsWith(name);
                    }""",
                    accessible_name,
                )
            ):
                return
        raise AssertionError(f"Tab never reached {accessible_name}")


def test_an_inbound_delegation_is_logged_with_the_keyboard_alone(page, live_server, world, record_property):
    login(page, live_server, "alice", PASSWORD)
    keys = Keyboard(page)
    # From the desk: skip to the content, then the first thing in it is "Log an engagement".
    keys.press("Tab")
    keys.press("Enter")
    keys.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Log an engagement"
    keys.press("Enter")
    page.wait_for_url("**/engagements/new/")
    # The title has the focus; the city, today's date and "internal" are already filled in.
    expect(page.locator("#id_title")).to_be_focused()
    keys.type("Delegation from Nagoya")
    keys.press("Tab")
    keys.type("i")  # a closed select jumps to "Inbound delegation"
    keys.tab_to("Start date")
    keys.type("05042026")
    keys.tab_to("Counterpart cities")
    keys.type("nago")
    expect(page.get_by_role("option", name="Nagoya, JP")).to_be_visible()
    keys.press("Enter")  # picks the highlighted suggestion
    expect(page.locator("#id_counterpart_cities_chips .chip")).to_have_text("Nagoya, JP")
    keys.press("Enter")  # an empty type-ahead box submits the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegation from Nagoya")
    screenshot(page, "keyboard-only-logged")

    engagement = Engagement.objects.get()
    assert engagement.kind == "inbound_delegation"
    assert engagement.start_date == dt.date(2026, 5, 4)
    assert engagement.visibility == "internal" and engagement.city == world["city"]
    assert [c.name for c in engagement.counterpart_cities.all()] == ["Nagoya"]
    record_property("keystrokes_inbound_delegation", keys.count)
    print(f"\nKeystrokes to log a typical inbound delegation from the desk: {keys.count}")


def test_focus_is_always_visible_and_errors_are_announced(page, live_server, world):
    login(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/engagements/new/")
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.locator("#id_title").fill("")
    page.get_by_role("button", name="Log engagement").click()
    summary = page.get_by_role("alert").filter(has_text="Nothing was saved yet")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#id_title")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="Kind").click()
    expect(page.locator("#id_kind")).to_be_focused()


def test_the_form_works_without_javascript(browser, live_server, world):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, live_server, "alice", PASSWORD)
        page.goto(f"{live_server.url}/engagements/new/")
        expect(page.get_by_role("button", name="Add organisation")).to_be_hidden()
        page.locator("#id_title").fill("Berlin trade mission")
        page.locator("#id_kind").select_option(label="Trade mission")
        page.get_by_role("combobox", name="Counterpart cities").fill("Berlin, DE")
        page.get_by_text("New organisation").click()
        page.get_by_label("Organisation name").fill("Berlin Partner")
        page.locator("#id_organization-kind").select_option(label="Company")
        page.get_by_role("button", name="Log engagement").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Berlin trade mission")
        screenshot(page, "no-javascript-logged")
    finally:
        context.close()
    engagement = Engagement.objects.get()
    assert [c.name for c in engagement.counterpart_cities.all()] == ["Berlin"]
    assert [o.name for o in engagement.counterpart_organizations.all()] == ["Berlin Partner"]


def test_pages_fit_a_phone_screen(page, live_server, world):
    page.set_viewport_size({"width": 375, "height": 740})
    login(page, live_server, "alice", PASSWORD)
    for path in ("/", "/engagements/", "/engagements/new/", "/agreements/", "/memberships/"):
        page.goto(live_server.url + path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    screenshot(page, "phone-engagement-list")


def test_work_typed_when_the_session_expired_is_restored_after_signing_in_again(page, live_server, world):
    from django.contrib.sessions.models import Session

    login(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/engagements/new/")
    page.locator("#id_title").fill("Delegation from Berlin")
    page.locator("#id_kind").select_option(label="Inbound delegation")
    pick_city(page, "Counterpart cities", "berl", "Berlin, DE")
    page.get_by_role("button", name="Add participant").click()
    page.locator("#id_participants-1-name").fill("Ms Giffey")
    page.get_by_label("Summary").fill("Two days of meetings on housing.")
    page.wait_for_timeout(400)  # the draft is kept a moment after the last keystroke

    Session.objects.all().delete()  # two hours without activity
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_text("Please sign in to continue")).to_be_visible()
    assert not Engagement.objects.exists()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/engagements/new/")
    banner = page.get_by_role("region", name="Unsaved changes")
    expect(banner).to_be_visible()
    screenshot(page, "draft-restore-offered")
    banner.get_by_role("button", name="Restore my changes").click()
    expect(page.locator("#id_title")).to_have_value("Delegation from Berlin")
    expect(page.locator("#id_counterpart_cities_chips .chip")).to_have_text("Berlin, DE")
    expect(page.locator("#id_participants-1-name")).to_have_value("Ms Giffey")
    expect(page.get_by_label("Summary")).to_have_value("Two days of meetings on housing.")
    page.get_by_role("button", name="Log engagement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegation from Berlin")
    engagement = Engagement.objects.get()
    assert engagement.participants.get().name == "Ms Giffey"
    assert [c.name for c in engagement.counterpart_cities.all()] == ["Berlin"]

    # Once saved, the draft is gone: a new form starts clean.
    page.goto(f"{live_server.url}/engagements/new/")
    expect(page.locator("#id_title")).to_have_value("")
    expect(page.get_by_role("region", name="Unsaved changes")).to_have_count(0)


def test_the_type_ahead_is_a_keyboard_combobox(page, live_server, world):
    login(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/engagements/new/")
    box = page.get_by_role("combobox", name="Location city")
    box.focus()
    page.keyboard.type("nag")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("option", name="Nagoya, JP")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("option", name="Nagareyama, JP")).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute(
        "aria-activedescendant", page.get_by_role("option", name="Nagareyama, JP").get_attribute("id")
    )
    page.keyboard.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowDown")  # closed: nothing moves
    page.keyboard.type("a")
    expect(page.get_by_role("option", name="Nagareyama, JP")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#id_location_city_chips .chip")).to_have_text("Nagareyama, JP")
    # One location: picking another replaces it.
    page.keyboard.type("berl")
    expect(page.get_by_role("option", name="Berlin, DE")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#id_location_city_chips .chip")).to_have_text("Berlin, DE")
