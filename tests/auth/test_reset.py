"""Password reset by email through a real SMTP server on loopback (SPEC section 4)."""

from __future__ import annotations

import re
import threading
from email.message import EmailMessage

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.auth.password_reset import ResetTokenInvalid, confirm_password_reset
from goalpath.auth.request import Request
from goalpath.auth.tokens import token_digest
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.mail.sender import SmtpMailer
from goalpath.models import PasswordResetToken, UserSession
from goalpath.users.service import passwords_from
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, fetch_user, make_user
from tests.fixtures.smtp import SmtpServer, settings_for_smtp

EMAIL = "casey.morgan@lakeside.example"
NEW_PASSWORD = "orchard-window-cinnamon-7714"


@pytest.fixture
def mail(app: FastAPI, settings: Settings, smtp_server: SmtpServer) -> SmtpServer:
    app.state.mailer = SmtpMailer(settings_for_smtp(settings, smtp_server))
    return smtp_server


def reset_token(message: EmailMessage, settings: Settings) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    text = part.get_content()
    match = re.search(
        re.escape(settings.public_base_url) + r"/reset-password\?token=([\w-]+)", text
    )
    assert match, text
    return match.group(1)


def request_reset(client: TestClient, email: str = EMAIL) -> int:
    return client.post("/api/v1/auth/password-reset", json={"email": email}).status_code


def confirm(client: TestClient, token: str, password: str = NEW_PASSWORD) -> int:
    return client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    ).status_code


def test_unknown_email_is_202_and_sends_nothing(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    assert request_reset(client, "nobody@lakeside.example") == 202
    assert request_reset(client) == 202
    messages = mail.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["To"] == EMAIL


def test_link_works_once_and_ends_everything(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    old = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD})
    old_token = old.json()["token"]
    for _ in range(5):  # lock the account: reset must still work
        client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "wrong-guess-again-x"})
    assert fetch_user(database, id_user).locked_until is not None
    assert request_reset(client) == 202
    token = reset_token(mail.wait_for(1)[0], settings)
    response = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert confirm(client, token, "another-fresh-password-99") == 400  # used
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == 0
    assert user.locked_until is None
    headers = {"Authorization": f"Bearer {old_token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD})
    assert login.status_code == 200
    with database.session_scope() as session:
        rows = list(session.scalars(select(PasswordResetToken)))
        live = list(session.scalars(select(UserSession).where(UserSession.revoked_at.is_(None))))
    assert len(rows) == 1
    assert rows[0].token_hash == token_digest(token)
    assert token not in (rows[0].token_hash or "")
    assert rows[0].used_at is not None
    assert rows[0].request_ip
    assert len(live) == 1  # only the new sign-in


def test_second_request_invalidates_the_first(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    request_reset(client)
    first = reset_token(mail.wait_for(1)[0], settings)
    request_reset(client)
    second = reset_token(mail.wait_for(2)[1], settings)
    assert first != second
    assert confirm(client, first) == 400
    assert confirm(client, second) == 200


def test_expired_token_is_refused(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    request_reset(client)
    token = reset_token(mail.wait_for(1)[0], settings)
    clock.advance(minutes=31)
    assert confirm(client, token) == 400
    assert confirm(client, "made-up-token") == 400


def test_policy_applies_and_a_refused_password_keeps_the_token(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    request_reset(client)
    token = reset_token(mail.wait_for(1)[0], settings)
    assert confirm(client, token, "too-short") == 422
    assert confirm(client, token, DEFAULT_PASSWORD) == 422  # in the history
    assert confirm(client, token) == 200


def test_token_dies_when_the_password_changes(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    request_reset(client)
    token = reset_token(mail.wait_for(1)[0], settings)
    clock.advance(seconds=5)
    value = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD})
    client.post(
        "/api/v1/auth/password",
        headers={"Authorization": f"Bearer {value.json()['token']}"},
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert confirm(client, token, "yet-another-fine-password") == 400


def test_two_concurrent_confirms_one_wins(
    client: TestClient, mail: SmtpServer, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    request_reset(client)
    token = reset_token(mail.wait_for(1)[0], settings)
    passwords = passwords_from(settings)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(password: str) -> None:
        barrier.wait()
        try:
            with database.session_scope() as session:
                confirm_password_reset(
                    session,
                    settings,
                    passwords,
                    token=token,
                    new_password=password,
                    request=Request(ip="192.0.2.1", user_agent=None, now=clock.now),
                )
            outcomes.append("ok")
        except ResetTokenInvalid:
            outcomes.append("refused")
        except Exception as error:
            outcomes.append(f"error {type(error).__name__}: {error}")

    threads = [
        threading.Thread(target=attempt, args=(p,))
        for p in ("first-racer-password-1", "second-racer-password-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["ok", "refused"]
