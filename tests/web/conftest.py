"""The real app served by uvicorn on loopback, and a real Chromium to drive it.

The server runs the `app` fixture's application in a background thread, so it shares
the test database and the test's `clock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from goalpath.auth.pages import router as auth_pages_router
from goalpath.web.pages import PageRedirect, page_redirect_handler
from tests.fixtures.live import LiveServer, serve

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
TABLET: ViewportSize = {"width": 768, "height": 1024}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def with_pages(app: FastAPI) -> FastAPI:
    """The app with its sign-in pages, whether or not create_app includes them yet."""
    if not any(getattr(route, "path", None) == "/sign-in" for route in app.routes):
        app.include_router(auth_pages_router)
    app.add_exception_handler(PageRedirect, page_redirect_handler)
    return app


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with serve(with_pages(app)) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    # axe is injected as a script tag, which the pages' CSP (rightly) refuses; the CSP
    # itself is checked by csp_violations() in a context that keeps it.
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
    # Generous: the suite runs three backends side by side on two cores.
    context.set_default_timeout(15000)
    try:
        yield context.new_page()
    finally:
        context.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=AXE_SCRIPT)
    results = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in results["violations"]
    ]


def check_page(page: Page, name: str) -> None:
    """No axe violation of any impact at desktop and tablet (768 px) sizes; a screenshot
    of each into var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("tablet", TABLET)):
        page.set_viewport_size(viewport)
        violations = axe_violations(page)
        assert violations == [], f"{name} ({label}): {violations}"
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png")
    page.set_viewport_size(DESKTOP)


@pytest.fixture
def other_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A second person's browser beside `page`'s, with cookies of its own: two people
    signed in at once."""
    options: dict[str, Any] = {"viewport": DESKTOP, "bypass_csp": True}
    with browser.new_context(base_url=live_server.url, **options) as context:
        context.set_default_timeout(15000)
        yield context.new_page()
