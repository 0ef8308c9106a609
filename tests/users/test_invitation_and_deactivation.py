"""Invitations by email through a real SMTP server on loopback, and deactivation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.mail.sender import SmtpMailer
from goalpath.models import PasswordResetToken, User, UserSession
from goalpath.users.service import INVITATION_HOURS
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.smtp import LOOPBACK, SmtpServer, free_port, settings_for_smtp
from tests.users.helpers import (
    DISTRICT_ADMIN,
    GOOD_PASSWORD,
    audit_rows,
    bearer,
    last_audit_id,
    role_id,
    sign_in,
    sign_in_demo,
)

INVITED = "lena.fischer@riverbend-usd.example"
CHOSEN_PASSWORD = "harbor-thistle-pumpkin-8802"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def mail(app: FastAPI, settings: Settings, smtp_server: SmtpServer) -> SmtpServer:
    app.state.mailer = SmtpMailer(settings_for_smtp(settings, smtp_server))
    return smtp_server


def invite(client: TestClient, database: Database, headers: dict[str, str]) -> int:
    response = client.post(
        "/api/v1/users",
        json={"email": INVITED, "name": "Lena Fischer", "id_role": role_id(database, "auditor")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["password_updated_at"] is None
    id_user: int = response.json()["id_user"]
    return id_user


def link_token(text: str, settings: Settings) -> str:
    match = re.search(
        re.escape(settings.public_base_url) + r"/reset-password\?token=([\w-]+)", text
    )
    assert match, text
    return match.group(1)


def test_invited_user_sets_a_password_through_the_emailed_link(
    client: TestClient,
    mail: SmtpServer,
    database: Database,
    settings: Settings,
    clock: Clock,
    staff: demo.DemoStaff,
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    before = last_audit_id(database)
    id_user = invite(client, database, admin)
    rows = audit_rows(database, after=before)
    assert len(rows) == 1 and rows[0]["details"] == {
        "fields": ["email", "id_role", "name"],
        "invited": True,
    }

    messages = mail.wait_for(1)
    assert len(mail.messages) == 1
    assert messages[0]["To"] == INVITED
    assert mail.envelope_recipients == [[INVITED]]
    body = messages[0].get_body(preferencelist=("plain",))
    assert body is not None
    token = link_token(body.get_content(), settings)
    with database.session_scope() as session:
        stored = session.scalars(
            select(PasswordResetToken).where(PasswordResetToken.id_user == id_user)
        ).one()
        # Only the digest is stored, and the link lives for the invitation's hours.
        assert stored.token_hash != token and len(stored.token_hash or "") == 64
        assert stored.expires_at - clock.now == timedelta(hours=INVITATION_HOURS)

    # Nobody can sign in before a password is chosen.
    refused = client.post(
        "/api/v1/auth/login", json={"email": INVITED, "password": CHOSEN_PASSWORD}
    )
    assert refused.status_code == 401
    # Two days later the link still works (a reset link would be long dead).
    clock.advance(hours=48)
    confirmed = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": CHOSEN_PASSWORD}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert sign_in(client, INVITED, CHOSEN_PASSWORD)
    again = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "another-lovely-phrase-3391"},
    )
    assert again.status_code == 400


def test_invitation_link_expires(
    client: TestClient,
    mail: SmtpServer,
    database: Database,
    settings: Settings,
    clock: Clock,
    staff: demo.DemoStaff,
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    invite(client, database, admin)
    body = mail.wait_for(1)[0].get_body(preferencelist=("plain",))
    assert body is not None
    token = link_token(body.get_content(), settings)
    clock.advance(hours=INVITATION_HOURS, seconds=1)
    expired = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": CHOSEN_PASSWORD}
    )
    assert expired.status_code == 400


def test_unsent_invitation_creates_nothing(
    client: TestClient, app: FastAPI, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    # A real connection to a loopback port where no server listens.
    unreachable = settings.model_copy(
        update={"smtp_host": LOOPBACK, "smtp_port": free_port(), "smtp_starttls": False}
    )
    app.state.mailer = SmtpMailer(unreachable)
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    before = last_audit_id(database)
    response = client.post(
        "/api/v1/users",
        json={"email": INVITED, "name": "Lena Fischer", "id_role": role_id(database, "auditor")},
        headers=admin,
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    with database.session_scope() as session:
        assert session.scalar(select(User).where(User.email == INVITED)) is None
        assert session.scalar(select(PasswordResetToken)) is None
    assert audit_rows(database, after=before) == []


def test_deactivation_ends_sessions_and_blocks_sign_in(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    created = client.post(
        "/api/v1/users",
        json={
            "email": "sam.ortiz@riverbend-usd.example",
            "name": "Sam Ortiz",
            "id_role": role_id(database, "case_manager"),
            "password": GOOD_PASSWORD,
        },
        headers=admin,
    ).json()
    id_user = created["id_user"]
    first = sign_in(client, "sam.ortiz@riverbend-usd.example", GOOD_PASSWORD)
    second = sign_in(client, "sam.ortiz@riverbend-usd.example", GOOD_PASSWORD)
    assert client.get("/api/v1/auth/me", headers=first).status_code == 200

    before = last_audit_id(database)
    response = client.post(f"/api/v1/users/{id_user}/deactivate", headers=admin)
    assert response.status_code == 200
    assert response.json()["deactivated_at"] is not None
    rows = audit_rows(database, after=before)
    assert len(rows) == 1
    assert rows[0]["details"] == {"fields": ["deactivated_at"], "sessions_ended": 2}
    with database.session_scope() as session:
        open_sessions = session.scalars(
            select(UserSession).where(
                UserSession.id_user == id_user, UserSession.revoked_at.is_(None)
            )
        ).all()
        assert open_sessions == []
    for headers in (first, second):
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    blocked = client.post(
        "/api/v1/auth/login",
        json={"email": "sam.ortiz@riverbend-usd.example", "password": GOOD_PASSWORD},
    )
    assert blocked.status_code == 401
    assert client.post(f"/api/v1/users/{id_user}/deactivate", headers=admin).status_code == 409

    assert client.post(f"/api/v1/users/{id_user}/reactivate", headers=admin).status_code == 200
    assert sign_in(client, "sam.ortiz@riverbend-usd.example", GOOD_PASSWORD)
    assert client.post(f"/api/v1/users/{id_user}/reactivate", headers=admin).status_code == 409


def test_nobody_deactivates_themselves(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    me = staff.first("district_admin")
    response = client.post(f"/api/v1/users/{me}/deactivate", headers=admin)
    assert response.status_code == 409
    with database.session_scope() as session:
        user = session.get(User, me)
        assert user is not None and user.deactivated_at is None
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 200


def test_ending_a_users_sessions_needs_the_update_right(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    auditor_token = client.post(
        "/api/v1/auth/login",
        json={
            "email": "victor.almeida@riverbend-usd.example",
            "password": settings.demo_password,
        },
    ).json()["token"]
    auditor = bearer(auditor_token)
    target = staff.first("case_manager")
    # The auditor reads the district's accounts but may not change them.
    assert client.delete(f"/api/v1/users/{target}/sessions", headers=auditor).status_code == 403
    assert client.delete(f"/api/v1/users/{target}/sessions", headers=admin).status_code == 204
    assert (
        client.delete(f"/api/v1/users/{staff.first('auditor')}/sessions", headers=admin).status_code
        == 204
    )
    assert client.get("/api/v1/auth/me", headers=auditor).status_code == 401
