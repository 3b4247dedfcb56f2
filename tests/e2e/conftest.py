"""Headless Chromium for end-to-end tests, driven by Playwright's sync API against `live_server`.

Fixtures for every browser test:
- `browser` (session): one Chromium for the run; skips locally, loudly, when /usr/bin/chromium
  is missing (install it with `apt-get install -y chromium`); under CI=true a skip fails the run.
- `page`: a fresh browser context per test (no cookies shared between tests), a screenshot of the
  final state under test-artifacts/, and a guard that fails the test if a page asks for anything
  outside the live server (nothing may load from the internet).
- `new_page`: more pages in their own contexts, for a second person in the same test.
- `login(page, live_server, username, password)`: signs in through the real form.
- `screenshot(page, name)`: saves test-artifacts/<name>.png.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be usable.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("END-TO-END TESTS NOT RUN: /usr/bin/chromium is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _csp_violation(message) -> bool:
    return "Content Security Policy" in message.text or "Content-Security-Policy" in message.text


def _open_page(browser, outside: list, violations: list | None = None, **context_options):
    options = {"viewport": {"width": 1280, "height": 900}, **context_options}
    context = browser.new_context(locale="en-US", timezone_id="UTC", accept_downloads=True, **options)
    context.set_default_timeout(10_000)

    def refuse(route):
        outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not LOCAL.match(url), refuse)
    page = context.new_page()
    if violations is not None:
        # Chromium logs every Content-Security-Policy refusal on the console.
        page.on("console", lambda message: violations.append(message.text) if _csp_violation(message) else None)
    return context, page


@pytest.fixture
def page(browser, request):
    outside: list[str] = []
    violations: list[str] = []
    context, page = _open_page(browser, outside, violations)
    yield page
    try:
        screenshot(page, f"{request.node.name}-final")
    finally:
        context.close()
    assert not outside, f"a page asked for something outside the app: {outside}"
    assert not violations, f"the Content-Security-Policy refused something: {violations}"


@pytest.fixture
def new_page(browser):
    """Opens more pages, each in its own context (another person's browser)."""
    contexts, outside, violations = [], [], []

    def open_another(**context_options):
        context, page = _open_page(browser, outside, violations, **context_options)
        contexts.append(context)
        return page

    yield open_another
    for context in contexts:
        context.close()
    assert not outside, f"a page asked for something outside the app: {outside}"
    assert not violations, f"the Content-Security-Policy refused something: {violations}"


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
