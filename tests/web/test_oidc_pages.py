"""District sign-in in a real Chromium (SPEC sections 12 and 14): a district
administrator registers the loopback provider through its page, staff sign in through
it, a refused sign-in says what to do; axe finds nothing serious at desktop width and
at 768 px on any of these pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, ViewportSize, expect

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from tests.auth.test_oidc import (
    ADMIN_A,
    STAFF_A,
    World,
    build_world,
    enrol_directly,
)
from tests.conftest import Clock
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET, Provider, serve_provider
from tests.web.conftest import DESKTOP, SCREENSHOTS, axe_violations
from tests.web.test_second_factor_pages import browser_sign_in, browser_sign_out

NARROW: ViewportSize = {"width": 768, "height": 1024}


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return build_world(database, settings)


@pytest.fixture
def app(
    settings: Settings, database: Database, reference_baseline: dict[str, int], clock: Clock
) -> FastAPI:
    """The app as the suite builds it, allowed to use a provider on loopback."""
    application = create_app(
        settings.model_copy(update={"oidc_allow_insecure_loopback": True}), database
    )
    application.state.clock = clock
    return application


@pytest.fixture
def provider() -> Iterator[Provider]:
    with serve_provider() as running:
        yield running


def all_violations(page: Page) -> list[dict[str, Any]]:
    """Every axe violation of any impact (the shared helper keeps the serious ones)."""
    axe_violations(page)  # injects axe once
    results = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag',"
        " values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": violation["id"], "impact": violation["impact"], "nodes": len(violation["nodes"])}
        for violation in results["violations"]
    ]


def check(page: Page, name: str) -> None:
    """No axe violation at all, at desktop width and at 768 px."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("768", NARROW)):
        page.set_viewport_size(viewport)
        violations = all_violations(page)
        assert violations == [], f"{name} ({label}): {violations}"
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png")
    page.set_viewport_size(DESKTOP)


def register_through_the_page(page: Page, provider: Provider) -> None:
    browser_sign_in(page, ADMIN_A)
    page.goto("/admin/identity-providers")
    expect(page.get_by_role("heading", name="District sign-in")).to_be_visible()
    check(page, "identity-providers-empty")
    page.get_by_role("link", name="Register a sign-in provider for Lakeside Unified").click()
    expect(page.get_by_role("heading", name="Register a sign-in provider")).to_be_visible()
    check(page, "identity-provider-new")

    # Refused first: an address that is not a domain, and no secret.
    page.get_by_label("Name on the sign-in button").fill("Lakeside Google")
    page.get_by_label("Issuer").fill(provider.issuer)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Email domains (optional)").fill("lakeside.example\nnot a domain!")
    page.get_by_role("button", name="Register provider").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Enter the client secret")
    expect(summary).to_contain_text("is not a domain name")
    summary.get_by_role("link", name=re.compile("Client secret")).click()
    expect(page.get_by_label("Client secret")).to_be_focused()
    check(page, "identity-provider-errors")

    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Email domains (optional)").fill("lakeside.example")
    page.get_by_role("button", name="Register provider").click()
    expect(page.get_by_role("status")).to_contain_text("can now sign in with Lakeside Google")
    expect(page.get_by_role("link", name="Sign in with Lakeside Google")).to_be_visible()
    check(page, "identity-providers-list")
    page.get_by_role("link", name="Sign in with Lakeside Google").click()
    expect(page.get_by_label("Client secret")).to_have_value("")
    check(page, "identity-provider-edit")
    browser_sign_out(page)


def test_register_then_sign_in_through_the_district_provider(
    page: Page, provider: Provider, world: World
) -> None:
    register_through_the_page(page, provider)
    provider.sign_in_as(STAFF_A)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/sign-in")
    button = page.get_by_role("button", name="Sign in with Lakeside Google")
    expect(button).to_be_visible()
    check(page, "sign-in-with-provider")
    button.click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Casey Morgan")
    # The browser went to the provider and back through the callback.
    assert any(url.startswith(provider.issuer + "/authorize") for url in requested)
    assert any("/sign-in/oidc/callback" in url for url in requested)
    assert provider.token_requests and provider.jwks_requests == 1


def test_a_refused_district_sign_in_says_what_to_do(
    page: Page, provider: Provider, world: World
) -> None:
    register_through_the_page(page, provider)
    provider.sign_in_as("nobody@lakeside.example")
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in with Lakeside Google").click()
    expect(page.get_by_role("heading", name="You are not signed in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "No Goalpath account of Lakeside Unified uses nobody@lakeside.example"
    )
    check(page, "oidc-refused")
    page.get_by_role("link", name="Back to the sign-in page").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_an_account_with_an_app_enters_its_code_after_the_provider(
    page: Page,
    provider: Provider,
    world: World,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    register_through_the_page(page, provider)
    secret = enrol_directly(database, settings, world.staff_a)
    provider.sign_in_as(STAFF_A, amr=["pwd", "mfa"])
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in with Lakeside Google").click()
    page.wait_for_url("**/sign-in/code")
    assert "goalpath_session" not in {cookie["name"] for cookie in page.context.cookies()}
    check(page, "oidc-code-step")
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Casey Morgan")
