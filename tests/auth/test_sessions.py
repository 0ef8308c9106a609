"""Sessions: logout, password change, idle and absolute expiry, cookies and CSRF."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user

EMAIL = "casey.morgan@lakeside.example"
NEW_PASSWORD = "orchard-window-cinnamon-7714"


def token(client: TestClient, password: str = DEFAULT_PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def me(client: TestClient, value: str) -> int:
    return client.get("/api/v1/auth/me", headers=bearer(value)).status_code


def test_no_or_bad_token_is_401(client: TestClient) -> None:
    assert client.get("/api/v1/auth/me").status_code == 401
    assert me(client, "forged-token") == 401
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_token_replayed_after_logout_is_401(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    value = token(client)
    assert me(client, value) == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(value)).status_code == 204
    assert me(client, value) == 401


def test_password_change_ends_other_sessions(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    laptop, tablet = token(client), token(client)
    response = client.post(
        "/api/v1/auth/password",
        headers=bearer(laptop),
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200, response.text
    rotated = response.json()["token"]
    assert me(client, tablet) == 401
    assert me(client, laptop) == 401  # the old token of this session is rotated away
    assert me(client, rotated) == 200
    assert token(client, NEW_PASSWORD)


def test_password_change_needs_the_current_password(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    value = token(client)
    response = client.post(
        "/api/v1/auth/password",
        headers=bearer(value),
        json={"current_password": "not-my-password-at-all", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert me(client, value) == 200
    assert token(client)  # the old password still works


def test_idle_timeout(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    value = token(client)
    clock.advance(minutes=29)
    assert me(client, value) == 200  # activity keeps it alive
    clock.advance(minutes=29)
    assert me(client, value) == 200
    clock.advance(minutes=31)
    assert me(client, value) == 401


def test_absolute_timeout(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    value = token(client)
    started = clock.now
    # Busy all day, never idle for 30 minutes: alive until the 12-hour mark only.
    while clock.now - started < timedelta(hours=11, minutes=30):
        clock.advance(minutes=25)
        assert me(client, value) == 200, clock.now - started
    clock.advance(minutes=31)  # past 12 hours, within the idle window
    assert me(client, value) == 401


def test_list_and_end_my_sessions(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    make_user(database, settings, email="other.person@lakeside.example", name="Other Person")
    current, other = token(client), token(client)
    listed = client.get("/api/v1/auth/sessions", headers=bearer(current)).json()
    assert len(listed) == 2
    assert sum(item["current"] for item in listed) == 1
    assert all("token" not in key for item in listed for key in item)
    other_id = next(item["id_user_session"] for item in listed if not item["current"])
    assert (
        client.delete(f"/api/v1/auth/sessions/{other_id}", headers=bearer(current)).status_code
        == 204
    )
    assert me(client, other) == 401
    # Someone else's session is not found.
    foreign = client.post(
        "/api/v1/auth/login",
        json={"email": "other.person@lakeside.example", "password": DEFAULT_PASSWORD},
    ).json()["token"]
    foreign_id = client.get("/api/v1/auth/sessions", headers=bearer(foreign)).json()[0][
        "id_user_session"
    ]
    assert (
        client.delete(f"/api/v1/auth/sessions/{foreign_id}", headers=bearer(current)).status_code
        == 404
    )
    assert me(client, foreign) == 200


def test_cookie_sign_in_sets_safe_cookies_and_needs_csrf(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    response = client.post(
        "/api/v1/auth/login",
        json={"email": EMAIL, "password": DEFAULT_PASSWORD, "session": "cookie"},
    )
    assert response.status_code == 200
    assert response.json()["token"] is None
    set_cookie = [value for key, value in response.headers.multi_items() if key == "set-cookie"]
    session_cookie = next(v for v in set_cookie if v.startswith(settings.session_cookie_name + "="))
    lowered = session_cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "secure" not in lowered  # plain-http localhost in tests
    assert client.get("/api/v1/auth/me").status_code == 200  # the cookie authenticates
    # A state-changing request with the cookie but without the CSRF header is refused.
    refused = client.post("/api/v1/auth/logout")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/auth/me").status_code == 200
    csrf = client.cookies.get("csrftoken")
    assert csrf
    assert client.post("/api/v1/auth/logout", headers={"x-csrftoken": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_secure_cookie_when_configured(
    client: TestClient,
    app,
    database: Database,
    settings: Settings,  # type: ignore[no-untyped-def]
) -> None:
    make_user(database, settings)
    app.state.settings = settings.model_copy(update={"cookie_secure": True})
    response = client.post(
        "/api/v1/auth/login",
        json={"email": EMAIL, "password": DEFAULT_PASSWORD, "session": "cookie"},
    )
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and "goalpath_session" in v
    )
    assert "secure" in cookie.lower()


def test_password_expiry_allows_only_a_change(
    client: TestClient,
    app,
    database: Database,
    settings: Settings,
    clock: Clock,  # type: ignore[no-untyped-def]
) -> None:
    make_user(database, settings)
    app.state.settings = settings.model_copy(update={"password_max_age_days": 90})
    clock.advance(days=91)
    value = token(client)
    assert client.get("/api/v1/auth/sessions", headers=bearer(value)).status_code == 403
    assert client.get("/api/v1/auth/me", headers=bearer(value)).json()["password_expired"] is True
    changed = client.post(
        "/api/v1/auth/password",
        headers=bearer(value),
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200
    fresh = changed.json()["token"]
    assert client.get("/api/v1/auth/sessions", headers=bearer(fresh)).status_code == 200
