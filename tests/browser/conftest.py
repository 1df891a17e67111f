import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Chromium flags for a closed network and a root user (see the machine notes in README).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# What Chromium's console said about the Content-Security-Policy during the current test.
VIOLATIONS: list[str] = []


def _watch_policy(context) -> None:
    def seen(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            VIOLATIONS.append(f"{message.location.get('url', '')}: {message.text}")

    context.on("console", seen)


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls the
    # tests make in between are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        new_context = browser.new_context

        def watched_context(*args, **kwargs):
            # every page of every test is watched, whichever way the test opened it
            context = new_context(*args, **kwargs)
            _watch_policy(context)
            return context

        browser.new_context = watched_context
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _no_policy_violation():
    """A page that breaks the Content-Security-Policy fails its test: what the policy refuses
    (an inline script or style) is what the page's users would miss."""
    from config import csp

    VIOLATIONS.clear()
    csp.received.clear()
    yield
    reports = [str(r.get("csp-report") or r.get("body") or r)[:500] for r in csp.received]
    assert not VIOLATIONS and not reports, "Content-Security-Policy violations:\n" + "\n".join(VIOLATIONS + reports)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
