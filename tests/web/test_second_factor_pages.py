"""The second-factor pages (SPEC sections 4, 12 and 14): set-up with an inline SVG QR
code, recovery codes, the sign-in's second step, a role's requirement, and the
administrators' controls.

The browser reads the key from the page as a person typing it would (nothing is
scanned) and pyotp computes the code at the app's clock, which the tests move.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import AuditEvent, Role, User, UserSecondFactor
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.users.helpers import COUNSELOR, DISTRICT_ADMIN
from tests.web.conftest import check_page, with_pages
from tests.web.test_pages import set_cookies

EMAIL = "casey.morgan@lakeside.example"
ADMIN_EMAIL = "dana.admin@lakeside.example"
TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
CHALLENGE_COOKIE = "goalpath_sign_in_challenge"
WRONG_CODE_SENTENCE = "The code is incorrect or was already used"
START_AGAIN_SENTENCE = "Sign in again with your password"


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_pages(app), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def counselors_need_it(database: Database) -> Iterator[None]:
    """Roles outlive each test's wipe: the flag is put back whatever the test does."""
    with database.engine.begin() as connection:
        connection.execute(
            update(Role).where(Role.name == "counselor").values(requires_second_factor=True)
        )
    yield
    with database.engine.begin() as connection:
        connection.execute(update(Role).values(requires_second_factor=False))


def wrong_code(secret: str, clock: Clock) -> str:
    """A 6-digit code that no step within the allowed drift produces."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(clock.now, counter_offset=offset) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


def second_factor_on(database: Database, id_user: int) -> bool:
    with database.session_scope() as session:
        confirmed = session.scalar(
            select(UserSecondFactor.confirmed_at).where(UserSecondFactor.id_user == id_user)
        )
    return confirmed is not None


# -- in the browser -----------------------------------------------------------------


def browser_sign_in(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def browser_sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def browser_enrol(page: Page, clock: Clock, *, name: str | None = None) -> tuple[str, list[str]]:
    """From the set-up page's first state to the recovery codes; the key and the codes."""
    if name:
        check_page(page, f"{name}-intro")
    page.get_by_role("button", name="Set up an authenticator app").click()
    qr_code = page.locator("svg.qr-code[role=img]")
    expect(qr_code).to_be_visible()
    assert "QR code" in (qr_code.locator("title").text_content() or "")
    code_field = page.get_by_label("Code from your app")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    if name:
        check_page(page, f"{name}-set-up")
    grouped = page.locator("#totp-secret").inner_text()
    assert " " in grouped
    secret = grouped.replace(" ", "")
    code_field.fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Turn on second factor").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ol.recovery-codes li code").all_inner_texts()
    if name:
        check_page(page, f"{name}-recovery-codes")
    return secret, codes


def test_enrol_from_the_page_then_sign_in_with_password_and_code(
    page: Page, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    browser_sign_in(page, EMAIL)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Second factor").click()
    expect(page.get_by_role("heading", name="Second factor", exact=True)).to_be_visible()
    secret, codes = browser_enrol(page, clock, name="second-factor")
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert second_factor_on(database, id_user)

    page.goto("/account/second-factor")
    expect(page.get_by_text("Your second factor is on.")).to_be_visible()
    check_page(page, "second-factor-on")

    browser_sign_out(page)
    browser_sign_in(page, EMAIL)
    page.wait_for_url("**/sign-in/code")
    code_field = page.get_by_label("Code", exact=True)
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    check_page(page, "sign-in-code")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert "goalpath_session" not in cookies
    assert cookies[CHALLENGE_COOKIE]["httpOnly"] is True
    challenge = cookies[CHALLENGE_COOKIE]["value"]

    refused_code = wrong_code(secret, clock)
    code_field.fill(refused_code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error-summary")).to_contain_text(WRONG_CODE_SENTENCE)
    check_page(page, "sign-in-code-error")

    # The confirming code's time step is spent: the next step's code signs in.
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock.now)
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("Casey Morgan")
    for url in requested:
        for value in (secret, challenge, code, refused_code, *codes):
            assert value not in url, url


def test_a_recovery_code_signs_in_once(
    page: Page, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    browser_sign_in(page, EMAIL)
    page.goto("/account/second-factor")
    _secret, codes = browser_enrol(page, clock)
    browser_sign_out(page)

    browser_sign_in(page, EMAIL)
    page.get_by_label("Code", exact=True).fill(codes[3])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    browser_sign_out(page)

    browser_sign_in(page, EMAIL)
    page.get_by_label("Code", exact=True).fill(codes[3])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error-summary")).to_contain_text(WRONG_CODE_SENTENCE)
    page.get_by_label("Code", exact=True).fill(codes[4].replace("-", " ").upper())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_required_role_is_sent_to_set_up_first(
    page: Page, database: Database, settings: Settings, clock: Clock, counselors_need_it: None
) -> None:
    make_user(database, settings, role="counselor")
    browser_sign_in(page, EMAIL)
    page.wait_for_url("**/account/second-factor")
    expect(page.get_by_role("status")).to_contain_text("Your role requires a second factor")
    assert page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts() == [
        "Goalpath"
    ]
    check_page(page, "second-factor-required")

    page.goto("/students")
    page.wait_for_url("**/account/second-factor")
    page.goto("/account/password")
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()

    page.goto("/account/second-factor")
    browser_enrol(page, clock)
    page.goto("/students")
    expect(page).to_have_url(re.compile(r"/students$"))
    page.goto("/account/second-factor")
    expect(page.locator("#required-notice")).to_contain_text("cannot be turned off")
    check_page(page, "second-factor-on-required")


# -- without a browser: the refusals ----------------------------------------------


def form_token(client: TestClient, path: str = "/sign-in") -> str:
    match = TOKEN_FIELD.search(client.get(path).text)
    assert match, path
    return match.group(1)


def page_sign_in(
    client: TestClient, email: str = EMAIL, password: str = DEFAULT_PASSWORD
) -> httpx2.Response:
    return client.post(
        "/sign-in",
        data={"email": email, "password": password, "next": "/", "csrftoken": form_token(client)},
        follow_redirects=False,
    )


def api_enrol(client: TestClient, clock: Clock, email: str = EMAIL) -> tuple[str, list[str]]:
    login = client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    secret = client.post("/api/v1/auth/second-factor/totp", headers=headers).json()["secret"]
    confirmed = client.post(
        "/api/v1/auth/second-factor/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(clock.now)},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    client.post("/api/v1/auth/logout", headers=headers)
    # The confirming code's step is spent.
    clock.advance(seconds=30)
    return secret, confirmed.json()["recovery_codes"]


def post_code(client: TestClient, code: str, *, token: bool = True) -> httpx2.Response:
    data = {"code": code, "next": "/"}
    if token:
        data["csrftoken"] = form_token(client, "/sign-in/code")
    return client.post("/sign-in/code", data=data, follow_redirects=False)


def test_the_second_step_keeps_challenge_and_code_out_of_urls(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)

    first = page_sign_in(pages)
    assert first.status_code == 303
    assert first.headers["location"] == "/sign-in/code"
    cookies = set_cookies(first)
    assert "goalpath_session" not in cookies
    challenge_cookie = cookies[CHALLENGE_COOKIE].lower()
    for attribute in ("httponly", "samesite=strict", "path=/sign-in/code", "max-age=300"):
        assert attribute in challenge_cookie
    challenge = pages.cookies.get(CHALLENGE_COOKIE)
    assert challenge

    form = pages.get("/sign-in/code")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert 'autocomplete="one-time-code"' in form.text
    assert 'method="post" action="/sign-in/code"' in form.text
    assert challenge not in form.text

    # A code in a link signs nobody in: only the posted form is read.
    code = pyotp.TOTP(secret).at(clock.now)
    linked = pages.get(f"/sign-in/code?code={code}", follow_redirects=False)
    assert "goalpath_session" not in set_cookies(linked)

    wrong = post_code(pages, wrong_code(secret, clock))
    assert wrong.status_code == 401
    assert WRONG_CODE_SENTENCE in wrong.text
    assert "goalpath_session" not in set_cookies(wrong)

    signed_in = post_code(pages, code)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/"
    assert code not in signed_in.headers["location"]
    session_cookie = set_cookies(signed_in)["goalpath_session"].lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert f'{CHALLENGE_COOKIE}=""' in set_cookies(signed_in)[CHALLENGE_COOKIE]
    assert pages.get("/", follow_redirects=False).status_code == 200


def test_the_code_forms_need_the_csrf_token(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)
    page_sign_in(pages)
    forged = post_code(pages, pyotp.TOTP(secret).at(clock.now), token=False)
    assert forged.status_code == 403
    assert "goalpath_session" not in set_cookies(forged)
    # The code was not spent by the refused post.
    assert post_code(pages, pyotp.TOTP(secret).at(clock.now)).status_code == 303

    forged_set_up = pages.post("/account/second-factor/set-up", follow_redirects=False)
    assert forged_set_up.status_code == 403
    forged_confirm = pages.post(
        "/account/second-factor/confirm", data={"code": "123456"}, follow_redirects=False
    )
    assert forged_confirm.status_code == 403


def test_an_expired_or_exhausted_challenge_says_to_start_again(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)
    page_sign_in(pages)
    clock.advance(minutes=6)
    expired = post_code(pages, pyotp.TOTP(secret).at(clock.now))
    assert expired.status_code == 401
    assert START_AGAIN_SENTENCE in expired.text
    assert "<h1>Sign in</h1>" in expired.text
    assert CHALLENGE_COOKIE in set_cookies(expired)
    assert pages.cookies.get(CHALLENGE_COOKIE) is None

    no_challenge = pages.get("/sign-in/code")
    assert START_AGAIN_SENTENCE in no_challenge.text

    with database.engine.begin() as connection:
        connection.execute(update(User).values(failed_login_attempts=0))
    # The right password takes the first attempt: only the code ends the run (SPEC 12).
    page_sign_in(pages)
    for _ in range(settings.lockout_threshold - 2):
        assert WRONG_CODE_SENTENCE in post_code(pages, wrong_code(secret, clock)).text
    locked = post_code(pages, wrong_code(secret, clock))
    assert locked.status_code == 401
    assert START_AGAIN_SENTENCE in locked.text
    assert f"wait {settings.lockout_minutes} minutes" in locked.text
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        assert user.locked_until is not None


def test_an_empty_code_is_asked_for_without_spending_a_try(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    api_enrol(pages, clock)
    page_sign_in(pages)
    empty = post_code(pages, "  ")
    assert empty.status_code == 422
    assert "Enter the code from your authenticator app, or a recovery code." in empty.text
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        # Only the password step's attempt: the empty form spent none.
        assert user.failed_login_attempts == 1


def test_confirming_with_a_wrong_code_re_renders_the_key(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    token = form_token(pages, "/account/second-factor")
    started = pages.post(
        "/account/second-factor/set-up", data={"csrftoken": token}, follow_redirects=False
    )
    assert started.status_code == 303
    set_up = pages.get("/account/second-factor")
    assert set_up.headers["cache-control"] == "no-store"
    assert "<svg " in set_up.text
    assert "<img" not in set_up.text
    match = re.search(r'id="totp-secret" class="totp-secret">([A-Z2-7 ]+)<', set_up.text)
    assert match
    secret = match.group(1).replace(" ", "")
    refused = pages.post(
        "/account/second-factor/confirm",
        data={"code": wrong_code(secret, clock), "csrftoken": token},
    )
    assert refused.status_code == 422
    assert "The code does not match" in refused.text
    assert match.group(1) in refused.text
    assert not second_factor_on(database, id_user)
    confirmed = pages.post(
        "/account/second-factor/confirm",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrftoken": token},
    )
    assert confirmed.status_code == 200
    assert confirmed.text.count("<li><code>") == 10
    assert second_factor_on(database, id_user)


def test_a_required_second_factor_cannot_be_turned_off(
    pages: TestClient,
    database: Database,
    settings: Settings,
    clock: Clock,
    counselors_need_it: None,
) -> None:
    id_user = make_user(database, settings, role="counselor")
    _secret, codes = api_enrol(pages, clock)
    page_sign_in(pages)
    assert post_code(pages, codes[0]).status_code == 303
    page = pages.get("/account/second-factor")
    assert "cannot be turned off" in page.text
    assert 'action="/account/second-factor/turn-off"' not in page.text
    refused = pages.post(
        "/account/second-factor/turn-off",
        data={"password": DEFAULT_PASSWORD, "csrftoken": form_token(pages, "/account/sessions")},
    )
    assert refused.status_code == 403
    assert "Your role requires a second factor, so it cannot be turned off" in refused.text
    assert second_factor_on(database, id_user)


def test_turning_it_off_from_the_page(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    _secret, codes = api_enrol(pages, clock)
    page_sign_in(pages)
    assert post_code(pages, codes[0]).status_code == 303
    token = form_token(pages, "/account/second-factor")
    wrong = pages.post(
        "/account/second-factor/turn-off",
        data={"password": "not-the-password-at-all", "csrftoken": token},
    )
    assert wrong.status_code == 422
    assert "The password is incorrect." in wrong.text
    assert second_factor_on(database, id_user)
    off = pages.post(
        "/account/second-factor/turn-off",
        data={"password": DEFAULT_PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert not second_factor_on(database, id_user)
    assert "Your second factor is off." in pages.get("/account/second-factor").text


# -- administrators ---------------------------------------------------------------


def test_an_administrator_toggles_a_roles_requirement(
    pages: TestClient, database: Database, settings: Settings, counselors_need_it: None
) -> None:
    make_user(database, settings, email=ADMIN_EMAIL, name="Dana Admin", role="system_admin")
    with database.session_scope() as session:
        id_counselor = session.scalar(select(Role.id_role).where(Role.name == "counselor"))
    page_sign_in(pages, ADMIN_EMAIL)
    listing = pages.get("/admin/roles")
    assert '<th scope="col">Second factor</th>' in listing.text
    assert "Required" in listing.text
    role_page = pages.get(f"/admin/roles/{id_counselor}")
    assert "Stop requiring a second factor" in role_page.text
    token = form_token(pages, f"/admin/roles/{id_counselor}")

    nonsense = pages.post(
        f"/admin/roles/{id_counselor}/second-factor",
        data={"requires_second_factor": "maybe", "csrftoken": token},
    )
    assert nonsense.status_code == 422
    assert "Choose whether the role requires a second factor." in nonsense.text

    off = pages.post(
        f"/admin/roles/{id_counselor}/second-factor",
        data={"requires_second_factor": "no", "csrftoken": token},
    )
    assert off.status_code == 200
    assert "no longer need a second factor" in off.text
    assert "Require a second factor" in off.text
    with database.session_scope() as session:
        assert (
            session.scalar(select(Role.requires_second_factor).where(Role.id_role == id_counselor))
            is False
        )
        audited = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "update", AuditEvent.record_id == str(id_counselor)
            )
        ).all()
    assert any("requires_second_factor" in (row.details or "") for row in audited)


def test_a_role_without_the_right_cannot_toggle_it(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    page_sign_in(pages)
    refused = pages.post(
        "/admin/roles/1/second-factor",
        data={"requires_second_factor": "yes", "csrftoken": form_token(pages, "/")},
    )
    assert refused.status_code == 403
    assert "The Roles page is not part of your role." in refused.text


def test_an_administrator_resets_a_second_factor_within_the_manage_rule(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    staff = demo.load(database, settings)
    counselor_email = demo_email(COUNSELOR)
    id_counselor = staff.by_email[counselor_email]
    login = pages.post(
        "/api/v1/auth/login", json={"email": counselor_email, "password": settings.demo_password}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    secret = pages.post("/api/v1/auth/second-factor/totp", headers=headers).json()["secret"]
    pages.post(
        "/api/v1/auth/second-factor/totp/confirm",
        json={"code": pyotp.TOTP(secret).at(clock.now)},
        headers=headers,
    )
    assert second_factor_on(database, id_counselor)

    # The counselor's role holds health-note rights the district administrator lacks.
    page_sign_in(pages, demo_email(DISTRICT_ADMIN), settings.demo_password)
    user_page = pages.get(f"/admin/users/{id_counselor}")
    assert "<dt>Second factor</dt><dd>On</dd>" in user_page.text
    assert "Reset second factor" in user_page.text
    refused = pages.post(
        f"/admin/users/{id_counselor}/second-factor/reset",
        data={"csrftoken": form_token(pages, f"/admin/users/{id_counselor}")},
    )
    assert refused.status_code == 403
    assert "only someone who holds them may change it" in refused.text
    assert second_factor_on(database, id_counselor)

    pages.cookies.clear()
    make_user(database, settings, email=ADMIN_EMAIL, name="Dana Admin", role="system_admin")
    page_sign_in(pages, ADMIN_EMAIL)
    reset = pages.post(
        f"/admin/users/{id_counselor}/second-factor/reset",
        data={"csrftoken": form_token(pages, f"/admin/users/{id_counselor}")},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    assert not second_factor_on(database, id_counselor)
    after = pages.get(f"/admin/users/{id_counselor}")
    assert "second factor has been reset" in after.text
    assert "<dt>Second factor</dt><dd>Not set up</dd>" in after.text
    with database.session_scope() as session:
        outcomes = session.scalars(
            select(AuditEvent.outcome)
            .where(AuditEvent.action == "second_factor.reset")
            .order_by(AuditEvent.id_audit_event)
        ).all()
    assert list(outcomes) == ["denied", "allowed"]
