"""The pages' rules without a browser: CSRF on forms, redirects, cookies, headers,
rate limits, password expiry and the role-aware menu."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import HTMLResponse

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.kit.ratelimit import RateLimiter
from goalpath.web.pages import local_path
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.web.conftest import AXE_SCRIPT, with_pages

EMAIL = "casey.morgan@lakeside.example"
NEW_PASSWORD = "orchard-window-cinnamon-7714"
TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_pages(app), raise_server_exceptions=False) as client:
        yield client


def form_token(client: TestClient, path: str = "/sign-in") -> str:
    match = TOKEN_FIELD.search(client.get(path).text)
    assert match
    return match.group(1)


def sign_in(
    client: TestClient, password: str = DEFAULT_PASSWORD, next_path: str = "/"
) -> httpx2.Response:
    return client.post(
        "/sign-in",
        data={
            "email": EMAIL,
            "password": password,
            "next": next_path,
            "csrftoken": form_token(client),
        },
        follow_redirects=False,
    )


def set_cookies(response: httpx2.Response) -> dict[str, str]:
    return {
        value.split("=", 1)[0]: value
        for key, value in response.headers.multi_items()
        if key == "set-cookie"
    }


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account/sessions", "/account/sessions"),
        ("/students?program=2", "/students?program=2"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_followed(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_first_page_embeds_the_token_its_cookie_carries(pages: TestClient) -> None:
    response = pages.get("/sign-in")
    match = TOKEN_FIELD.search(response.text)
    assert match
    cookie = set_cookies(response)["csrftoken"]
    assert cookie.startswith(f"csrftoken={match.group(1)};")
    assert f'<meta name="csrf-token" content="{match.group(1)}">' in response.text


def test_sign_in_form_needs_the_csrf_token(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    pages.get("/sign-in")
    forged = pages.post(
        "/sign-in",
        data={"email": EMAIL, "password": DEFAULT_PASSWORD},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert "goalpath_session" not in set_cookies(forged)
    response = sign_in(pages)
    assert response.status_code == 303
    session_cookie = set_cookies(response)["goalpath_session"].lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert "path=/" in session_cookie


def test_sign_in_goes_only_to_a_local_next(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    response = sign_in(pages, next_path="//evil.example/phish")
    assert response.headers["location"] == "/"
    pages.cookies.clear()
    response = sign_in(pages, next_path="/account/sessions")
    assert response.headers["location"] == "/account/sessions"


def test_signed_out_visitors_are_sent_to_sign_in(pages: TestClient) -> None:
    response = pages.get("/account/sessions?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account/sessions%3Fx%3D1"
    assert pages.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    htmx = pages.get("/account/sessions", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 200
    assert htmx.headers["hx-redirect"] == "/sign-in?next=/account/sessions"


def test_a_signed_in_form_without_its_token_is_refused(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    sign_in(pages)
    refused = pages.post("/sign-out", data={"csrftoken": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert pages.get("/", follow_redirects=False).status_code == 200
    signed_out = pages.post(
        "/sign-out", data={"csrftoken": form_token(pages, "/")}, follow_redirects=False
    )
    assert signed_out.status_code == 303
    assert pages.get("/", follow_redirects=False).status_code == 303


def test_reset_link_moves_the_token_into_a_strict_cookie(pages: TestClient) -> None:
    response = pages.get("/reset-password?token=abc-123", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/reset-password"
    assert response.headers["referrer-policy"] == "no-referrer"
    cookie = set_cookies(response)["goalpath_reset"].lower()
    assert cookie.startswith("goalpath_reset=abc-123;")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/reset-password" in cookie
    assert "max-age=1800" in cookie
    form = pages.get("/reset-password")
    assert form.headers["referrer-policy"] == "no-referrer"
    assert 'autocomplete="new-password"' in form.text
    refused = pages.post(
        "/reset-password",
        data={
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrftoken": form_token(pages, "/reset-password"),
        },
    )
    assert refused.status_code == 400
    assert refused.headers["referrer-policy"] == "no-referrer"
    assert "invalid, already used or expired" in refused.text


def test_forgot_password_answers_alike_for_any_address(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    token = form_token(pages, "/forgot-password")
    answers = [
        pages.post("/forgot-password", data={"email": email, "csrftoken": token})
        for email in (EMAIL, "nobody@lakeside.example")
    ]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].text == answers[1].text


def test_sign_in_rate_limit_shows_the_form_with_retry_after(
    pages: TestClient, app: FastAPI, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    limited = settings.model_copy(update={"rate_limit_login_ip": "2/minute"})
    app.state.settings = limited
    app.state.rate_limiter = RateLimiter.from_settings(limited)
    statuses = [sign_in(pages, password="wrong-password-guess-1").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    response = sign_in(pages)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Too many attempts" in response.text


def test_an_expired_password_leads_to_the_change_page(
    pages: TestClient, app: FastAPI, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    app.state.settings = settings.model_copy(update={"password_max_age_days": 90})
    clock.advance(days=91)
    assert sign_in(pages).status_code == 303
    home = pages.get("/", follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == "/account/password"
    page = pages.get("/account/password")
    assert page.status_code == 200
    assert "Your password has expired" in page.text
    changed = pages.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrftoken": form_token(pages, "/account/password"),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert pages.get("/", follow_redirects=False).status_code == 200


def test_ending_another_users_session_is_not_found(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings, email="other.person@lakeside.example", name="Other Person")
    other = pages.post(
        "/api/v1/auth/login",
        json={"email": "other.person@lakeside.example", "password": DEFAULT_PASSWORD},
    ).json()["token"]
    foreign_id = pages.get(
        "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {other}"}
    ).json()[0]["id_user_session"]
    make_user(database, settings)
    sign_in(pages)
    response = pages.post(
        f"/account/sessions/{foreign_id}/end", data={"csrftoken": form_token(pages, "/")}
    )
    assert response.status_code == 404
    assert "No such session." in response.text
    me = pages.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {other}"})
    assert me.status_code == 200


def test_menu_follows_permissions_and_mounted_pages(
    app: FastAPI, database: Database, settings: Settings
) -> None:
    @app.get("/audit-events", response_class=HTMLResponse, include_in_schema=False)
    def audit_page() -> str:
        return "<p>audit</p>"

    make_user(database, settings, email="ada.auditor@lakeside.example", role="auditor")
    make_user(database, settings, role="case_manager")
    menus = {}
    for email in ("ada.auditor@lakeside.example", EMAIL):
        with TestClient(with_pages(app)) as client:
            client.post(
                "/sign-in",
                data={
                    "email": email,
                    "password": DEFAULT_PASSWORD,
                    "csrftoken": form_token(client),
                },
            )
            page = client.get("/").text
            links = page.split('class="nav-links"')[1].split("</ul>")[0]
            menus[email] = re.findall(r'<a href="(/[^"]*)"', links)
    # Each link needs its right and a mounted page, so no link leads to a 404.
    assert menus["ada.auditor@lakeside.example"] == [
        "/",
        "/students",
        "/admin/programs",
        "/admin/users",
        "/admin/roles",
        "/audit-events",
    ]
    # A case manager reaches her students and her reports from the menu.
    assert menus[EMAIL] == ["/", "/students", "/reports"]


def test_form_token_is_read_from_any_form_body_and_the_body_still_arrives(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    sign_in(pages)
    malformed = pages.post(
        "/sign-out",
        content=b"--xx\r\nnot a form",
        headers={"content-type": "multipart/form-data; boundary=xx"},
        follow_redirects=False,
    )
    assert malformed.status_code == 403
    token = form_token(pages, "/account/password")
    # The middleware reads the body to find the token; the page must still get every
    # field of it, here the current password it checks.
    refused = pages.post(
        "/account/password",
        files={"attachment": ("note.txt", b"ignored")},
        data={
            "current_password": "not-my-password-at-all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrftoken": token,
        },
    )
    assert refused.status_code == 422
    assert "The current password is incorrect." in refused.text
    changed = pages.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrftoken": token,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303


def test_vendored_axe_matches_its_versions_entry() -> None:
    listed = dict(
        re.findall(
            r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$",
            (AXE_SCRIPT.parent / "VERSIONS.md").read_text(),
            re.MULTILINE,
        )
    )
    assert listed.keys() == {"axe.min.js", "LICENSE"}
    for name, sha256 in listed.items():
        assert hashlib.sha256((AXE_SCRIPT.parent / name).read_bytes()).hexdigest() == sha256
