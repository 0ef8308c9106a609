"""The sign-in and account pages in a real browser against the real server: keyboard
use, the messages people see, email through a real SMTP server, and axe-core's WCAG 2.1
AA checks on every page (SPEC sections 4 and 9)."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx2
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.mail.sender import SmtpMailer
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.fixtures.smtp import SmtpServer, settings_for_smtp
from tests.web.conftest import DESKTOP, LiveServer, check_page

EMAIL = "casey.morgan@lakeside.example"
NAME = "Casey Morgan"
NEW_PASSWORD = "orchard-window-cinnamon-7714"
GENERIC_FAILURE = "The email or password is incorrect, or the account is locked."


@pytest.fixture
def user(database: Database, settings: Settings) -> int:
    return make_user(database, settings, email=EMAIL, name=NAME)


@pytest.fixture
def mail(app: FastAPI, settings: Settings, smtp_server: SmtpServer) -> SmtpServer:
    app.state.mailer = SmtpMailer(settings_for_smtp(settings, smtp_server))
    return smtp_server


def sign_in(page: Page, password: str = DEFAULT_PASSWORD, email: str = EMAIL) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.className"))


def api_login(server: LiveServer, password: str = DEFAULT_PASSWORD, agent: str = "Tablet") -> str:
    response = httpx2.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": EMAIL, "password": password},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def api_me(server: LiveServer, token: str) -> int:
    return httpx2.get(
        f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_sign_in_with_the_keyboard_only(page: Page, user: int) -> None:
    page.goto("/sign-in")
    check_page(page, "sign-in")
    page.keyboard.press("Tab")
    assert focused(page) == "skip-link"
    # The focus ring is visible: the outline is not removed on focus.
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    assert focused(page) == "main"
    page.keyboard.press("Tab")
    assert focused(page) == "email"
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    assert focused(page) == "password"
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.get_by_role("main")).to_contain_text(NAME)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_be_visible()
    check_page(page, "home")


def test_wrong_password_and_unknown_email_get_the_same_message(page: Page, user: int) -> None:
    sign_in(page, password="not-the-right-password-at-all")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(GENERIC_FAILURE)
    assert page.title().startswith("Error:")
    assert focused(page) == "error-summary"
    described = page.get_by_label("Password", exact=True).get_attribute("aria-describedby")
    assert described is not None and "form-error" in described.split()
    check_page(page, "sign-in-error")
    first = page.get_by_role("alert").inner_text()

    sign_in(page, email="nobody@lakeside.example", password="not-the-right-password-at-all")
    expect(page.get_by_role("alert")).to_contain_text(GENERIC_FAILURE)
    assert page.get_by_role("alert").inner_text() == first

    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your email address.")
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    assert email.get_attribute("aria-describedby") == "email-error"
    expect(page.locator("#email-error")).to_have_text("Enter your email address.")


def test_sign_out_and_return_to_the_page_asked_for(page: Page, user: int) -> None:
    page.goto("/account/sessions")
    assert page.url.endswith("/sign-in?next=/account/sessions")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/sessions$"))
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in$"))
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    assert "goalpath_session" not in cookies
    page.goto("/")
    assert page.url.endswith("/sign-in")
    # The flash is shown once.
    expect(page.get_by_role("status")).to_have_count(0)


def test_forgotten_password_by_email(page: Page, user: int, mail: SmtpServer) -> None:
    page.goto("/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(re.compile(r"/forgot-password$"))
    check_page(page, "forgot-password")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Email me a reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    check_page(page, "forgot-password-sent")

    link = reset_link(mail.wait_for(1)[0], page)
    response = page.goto(link)
    assert response is not None
    assert "token" not in page.url
    assert page.url.endswith("/reset-password")
    assert response.headers["referrer-policy"] == "no-referrer"
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "goalpath_reset"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/reset-password"
    check_page(page, "reset-password")

    page.get_by_label("New password", exact=True).fill("too-short")
    page.get_by_label("Confirm new password").fill("too-short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#new_password-error")).to_have_text("Use at least 15 characters.")
    assert page.get_by_label("New password", exact=True).get_attribute("aria-invalid") == "true"
    check_page(page, "reset-password-error")

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#confirm_password-error")).to_have_text("The two passwords do not match.")

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/sign-in$"))
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed.")
    assert "goalpath_reset" not in {c["name"] for c in page.context.cookies()}

    sign_in(page, password=DEFAULT_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text(GENERIC_FAILURE)
    sign_in(page, password=NEW_PASSWORD)
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")

    # The link works once.
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("another-fresh-password-99")
    page.get_by_label("Confirm new password").fill("another-fresh-password-99")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This reset link cannot be used")
    check_page(page, "reset-password-invalid")


def reset_link(message: EmailMessage, page: Page) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    match = re.search(r"(http://\S+/reset-password\?token=[\w-]+)", part.get_content())
    assert match
    return match.group(1)


def test_change_password(page: Page, user: int, live_server: LiveServer) -> None:
    other = api_login(live_server)
    sign_in(page)
    page.wait_for_url(re.compile(r"/$"))
    before = session_cookie(page)
    page.get_by_role("link", name="Password").click()
    page.wait_for_url(re.compile(r"/account/password$"))
    check_page(page, "change-password")

    page.get_by_label("Current password").fill("not-my-password-at-all")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#current_password-error")).to_have_text(
        "The current password is incorrect."
    )
    check_page(page, "change-password-error")

    page.get_by_label("Current password").fill(DEFAULT_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed.")
    # Still signed in, on a new session token; the other session has ended.
    assert session_cookie(page) != before
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    assert api_me(live_server, other) == 401
    assert api_login(live_server, NEW_PASSWORD)


def session_cookie(page: Page) -> str:
    (value,) = [c["value"] for c in page.context.cookies() if c["name"] == "goalpath_session"]
    return value


def test_list_and_end_sessions(page: Page, user: int, live_server: LiveServer) -> None:
    by_form = api_login(live_server, agent="Phone in the staff room")
    by_htmx = api_login(live_server, agent="Library computer")
    sign_in(page)
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name="Sessions").click()
    page.wait_for_url(re.compile(r"/account/sessions$"))
    rows = page.get_by_role("row")
    expect(rows).to_have_count(4)  # the header row and three sessions
    expect(page.get_by_role("cell", name="This session")).to_have_count(1)
    check_page(page, "sessions")

    row = page.get_by_role("row").filter(has_text="Phone in the staff room")
    row.get_by_role("button", name=re.compile("^End session")).click()
    page.wait_for_url(re.compile(r"/account/sessions$"))
    expect(page.get_by_role("status")).to_have_text("The session has ended.")
    expect(page.get_by_role("row")).to_have_count(3)
    assert api_me(live_server, by_form) == 401
    assert api_me(live_server, by_htmx) == 200

    # An htmx request carries the CSRF token from the page's meta tag (app.js); the
    # middleware would refuse it otherwise.
    action = (
        page.get_by_role("row")
        .filter(has_text="Library computer")
        .locator("form")
        .get_attribute("action")
    )
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    with page.expect_request(lambda request: request.url.endswith(str(action))) as sent:
        page.evaluate("action => htmx.ajax('POST', action, {target: 'main', swap: 'none'})", action)
    assert sent.value.headers.get("x-csrftoken") == token
    response = sent.value.response()
    assert response is not None
    assert response.status == 303
    assert api_me(live_server, by_htmx) == 401
    page.reload()
    expect(page.get_by_role("row")).to_have_count(2)


def test_pages_keep_to_the_csp(browser: Browser, live_server: LiveServer, user: int) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        for path in ("/sign-in", "/forgot-password", "/reset-password"):
            page.goto(path)
            assert page.evaluate("typeof htmx") == "object", path
        sign_in(page)
        page.wait_for_url(re.compile(r"/$"))
        for path in ("/", "/account/password", "/account/sessions"):
            page.goto(path)
            assert page.evaluate("typeof htmx") == "object", path
    finally:
        context.close()
    assert problems == []
