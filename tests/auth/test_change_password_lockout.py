"""Guesses of the current password on the change form count toward the sign-in
lockout (SPEC section 12): a stolen session is no unlimited password oracle."""

from __future__ import annotations

import re

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, User
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.web.conftest import with_pages

EMAIL = "casey.morgan@lakeside.example"
NEW_PASSWORD = "orchard-window-cinnamon-7714"
WRONG = "not-my-password-at-all"


def bearer_token(client: TestClient, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def change(
    client: TestClient, headers: dict[str, str], current: str, new: str = NEW_PASSWORD
) -> httpx2.Response:
    return client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": current, "new_password": new},
    )


def account(database: Database, id_user: int) -> User:
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        session.expunge(user)
        return user


def locked_rows(database: Database) -> int:
    with database.session_scope() as session:
        return len(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "account.locked")).all()
        )


def test_wrong_current_passwords_lock_the_account(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    headers = bearer_token(client)
    for attempt in range(1, settings.lockout_threshold):
        refused = change(client, headers, WRONG)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "The current password is incorrect."
        assert account(database, id_user).failed_login_attempts == attempt
        assert account(database, id_user).locked_until is None
    assert change(client, headers, WRONG).status_code == 422
    assert account(database, id_user).locked_until is not None
    assert locked_rows(database) == 1

    # Locked: the right password is not even checked, and the reason is said.
    locked = change(client, headers, DEFAULT_PASSWORD)
    assert locked.status_code == 422
    assert "too many wrong passwords" in locked.json()["detail"]
    assert f"{settings.lockout_minutes} minutes" in locked.json()["detail"]
    assert locked_rows(database) == 1
    signed_in = client.post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 401
    # The session itself lives on: the lock guards the password, not who holds a session.
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_the_right_password_ends_the_run_even_when_the_new_one_is_refused(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    headers = bearer_token(client)
    for _ in range(settings.lockout_threshold - 1):
        change(client, headers, WRONG)
    weak = change(client, headers, DEFAULT_PASSWORD, "aaaaaaaaaaaaaaa")
    assert weak.status_code == 422
    assert account(database, id_user).failed_login_attempts == 0
    assert change(client, headers, DEFAULT_PASSWORD).status_code == 200
    assert account(database, id_user).failed_login_attempts == 0
    assert locked_rows(database) == 0


@pytest.fixture
def pages(client: TestClient) -> TestClient:
    with_pages(client.app)  # type: ignore[arg-type]
    return client


def test_the_change_page_counts_and_says_when_locked(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    token = re.compile(r'name="csrftoken" value="([^"]+)"')
    form = pages.get("/sign-in").text
    match = token.search(form)
    assert match
    csrf = match.group(1)
    pages.post(
        "/sign-in",
        data={"email": EMAIL, "password": DEFAULT_PASSWORD, "next": "/", "csrftoken": csrf},
    )
    data = {
        "current_password": WRONG,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "csrftoken": csrf,
    }
    for _ in range(settings.lockout_threshold):
        refused = pages.post("/account/password", data=data)
        assert refused.status_code == 422
        assert "The current password is incorrect." in refused.text
    assert account(database, id_user).locked_until is not None
    locked = pages.post("/account/password", data={**data, "current_password": DEFAULT_PASSWORD})
    assert locked.status_code == 422
    assert "too many wrong passwords for this account" in locked.text
