"""The tour: every page a person opens, for an anonymous visitor, a city's staff and a liaison,
on a phone (390 × 844 CSS px) and at 200 % zoom (a 1280 × 900 window zoomed to 200 % lays out
640 × 450 CSS px). On each: the page answers as expected; it is no wider than the screen, with
the menu and filters folded (as app.js leaves them on a narrow screen) and unfolded (as without
JavaScript); the header stays short; and axe-core (from npm, injected by the test only: no page
loads it) reports no serious or critical violation.

The pages come from the page matrix (tests/pages/test_page_matrix.py): for every URL pattern, the
variant answering 200 that shows the principal the most records, so a new page joins the tour by
getting its matrix row. One browser context per principal, reused for every page.
Set TOUR_SCREENSHOTS=1 to keep a screenshot of every page under test-artifacts/.
"""

import os
from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from engagements.write_path import write_path
from tests import factories
from tests.e2e.conftest import _open_page, login, screenshot
from tests.pages import test_page_matrix as matrix
from tests.pages.world import build_world

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct horse battery"  # tests/factories.UserFactory's
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PRINCIPALS = {"anonymous": None, "staff_a": "alice", "liaison": "lena"}
PHONE = {"width": 390, "height": 844}
ZOOM_200 = {"width": 640, "height": 450}
# The collapsed header of a phone: the brand, the menu button and the account line.
HEADER_MAX_HEIGHT = 140
# Patterns that answer something other than a page (CSV, fragments, redirects, actions).
NOT_PAGES = {
    "healthz",
    "logout",
    "favicon",
    "city-search",
    "organization-search",
    "dashboard-csv",
    "imports:errors-csv",
    "imports:export-csv",
    "my-office",
}

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`);
}"""

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  const clipped = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !el.closest("details:not([open]) > :not(summary)") && !clipped(el)) {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : ""} (${Math.round(box.right)}px)`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, widest: wide.slice(0, 4)};
}"""


def tour(world, principal):
    """(name, path) of every page `principal` opens: one per URL pattern (the variant that shows
    them the most records), plus the error pages."""
    for _route, name in matrix.PAGE_PATTERNS:
        case = matrix.CASES.get(name)
        if case is None or name in NOT_PAGES:
            continue
        variants = [v for v in case.variants if "format=" not in v and case.expect(principal, v) == 200]
        if variants:
            richest = max(variants, key=lambda v: len(case.shows(world, principal, v)) if case.shows else 0)
            yield name, case.url(world, richest)
    yield "not found", "/no-such-page/"
    if principal == "staff_a":
        yield "forbidden", "/review/"


def check_page(page, base_url, name, path, problems):
    try:
        response = page.goto(base_url + path)
    except PlaywrightError as error:
        if "Download is starting" in str(error):  # a file (a calendar feed, a CSV), not a page
            return False
        raise
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return False
    if "<html" not in response.text()[:500].lower():  # a fragment htmx swaps into a page
        return False
    where = f"{name} {path}"
    expected = {"not found": 404, "forbidden": 403}.get(name, 200)
    if response.status != expected:
        problems.append(f"{where}: answered {response.status}, not {expected}")
        return True
    page.set_viewport_size(PHONE)
    size = page.evaluate(OVERFLOW)
    if size["scrollWidth"] > min(size["innerWidth"], PHONE["width"]):
        problems.append(f"{where}: {size['scrollWidth']} px wide on a 390-px phone; too wide: {size['widest']}")
        screenshot(page, f"tour-{name}-phone")
    if os.environ.get("TOUR_SCREENSHOTS"):  # to look at every page of the tour: test-artifacts/tour-*.png
        screenshot(page, f"tour-{name}-{page.context.tour_principal}")
    header = page.evaluate("() => document.querySelector('.site-header')?.getBoundingClientRect().toJSON()")
    if header and header["height"] > HEADER_MAX_HEIGHT:
        problems.append(f"{where}: the header is {round(header['height'])} px tall on a phone")
    # Unfolded (the menu and filters opened, as without JavaScript), everything must fit too.
    page.evaluate("() => document.querySelectorAll('details[data-fold-narrow]').forEach(d => { d.open = true; })")
    size = page.evaluate(OVERFLOW)
    if size["scrollWidth"] > min(size["innerWidth"], PHONE["width"]):
        problems.append(
            f"{where}: {size['scrollWidth']} px wide on a phone with its menu and filters open: {size['widest']}"
        )
    for violation in page.evaluate(AXE_RUN):
        problems.append(f"{where}: axe {violation}")
    page.set_viewport_size(ZOOM_200)
    size = page.evaluate(OVERFLOW)
    if size["scrollWidth"] > size["innerWidth"]:
        problems.append(f"{where}: {size['scrollWidth']} px wide at 200 % zoom (640 px); too wide: {size['widest']}")
        screenshot(page, f"tour-{name}-zoom")
    page.set_viewport_size(PHONE)
    return True


@pytest.fixture
def world(db):
    with transaction.atomic():
        return build_world()


def test_every_page_fits_a_phone_and_200_percent_zoom_with_no_serious_axe_violation(browser, live_server, world):
    assert AXE.exists(), "axe-core is missing: run `npm ci`"
    problems, visited = [], {}
    for principal, username in PRINCIPALS.items():
        outside, violations = [], []
        context, page = _open_page(browser, outside, violations, viewport=PHONE, device_scale_factor=2)
        # Injected by the browser itself (not a page's <script>): no page of the app loads axe.
        context.add_init_script(path=str(AXE))
        context.tour_principal = principal
        try:
            if username:
                login(page, live_server, username, PASSWORD)
            visited[principal] = [
                name for name, path in tour(world, principal) if check_page(page, live_server.url, name, path, problems)
            ]
        finally:
            context.close()
        assert not outside, f"a page asked for something outside the app: {outside}"
        assert not violations, f"the Content-Security-Policy refused something: {violations}"

    # The tour is not vacuous: each principal reached the pages that matter to them.
    assert {"home", "city-profile", "network-detail", "engagement-detail", "agreement-detail", "login"} <= set(
        visited["anonymous"]
    )
    assert {
        "home", "engagement-list", "agreement-list", "membership-list", "engagement-create", "agreement-create",
        "engagement-edit", "dashboard", "imports:upload", "imports:job", "notifications:inbox", "city-profile",
        "office-edit", "password_change", "forbidden",
    } <= set(visited["staff_a"])  # fmt: skip
    assert {"review", "compliance:overview", "dashboard", "engagement-detail"} <= set(visited["liaison"])
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_on_a_phone_the_menu_and_filters_fold_away_and_the_results_come_first(new_page, live_server, db):
    city = factories.CityFactory(name="Los Angeles", subdivision="US-CA", population=3_900_000)
    factories.UserFactory(username="alice", home_cities=[city])
    with write_path():
        factories.EngagementFactory(city=city, title="Delegation from Nagoya")
    page = new_page(viewport=PHONE)
    login(page, live_server, "alice", PASSWORD)
    page.goto(f"{live_server.url}/engagements/")

    menu, filters = page.locator("details.site-menu"), page.locator("details.filter-fold")
    expect(menu).not_to_have_attribute("open", "")
    expect(filters).not_to_have_attribute("open", "")
    assert page.locator(".site-header").bounding_box()["height"] <= HEADER_MAX_HEIGHT
    first_result = page.get_by_role("link", name="Delegation from Nagoya")
    assert first_result.bounding_box()["y"] + first_result.bounding_box()["height"] <= PHONE["height"]
    screenshot(page, "phone-engagement-list-folded")

    page.get_by_text("Menu", exact=False).first.click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Agreements")).to_be_visible()
    page.locator("details.filter-fold > summary").click()
    expect(page.get_by_role("button", name="Apply filters")).to_be_visible()
    screenshot(page, "phone-engagement-list-unfolded")

    # On a wide screen (a window resized) both are open, with no button to open them.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(menu).to_have_attribute("open", "")
    expect(page.locator("details.site-menu > summary")).to_be_hidden()
    expect(page.get_by_role("button", name="Apply filters")).to_be_visible()
    screenshot(page, "wide-engagement-list")
