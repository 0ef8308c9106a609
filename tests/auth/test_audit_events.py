"""Sign-in events are on the audit trail (SPEC section 6); failures survive the
request's rollback, and nothing secret is recorded."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user

EMAIL = "casey.morgan@lakeside.example"


def trail(database: Database) -> list[AuditEvent]:
    with database.session_scope() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id_audit_event)))


def test_sign_in_events_are_audited(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    client.post("/api/v1/auth/login", json={"email": "ghost@lakeside.example", "password": "x"})
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "wrong-password-1"})
    rows = trail(database)
    assert [(row.action, row.outcome) for row in rows] == [
        ("login.failed", "failed"),
        *[("login.failed", "failed")] * 5,
        ("account.locked", "failed"),
    ]
    assert rows[0].id_user is None
    assert rows[0].details is not None and "ghost" not in rows[0].details
    assert all(row.id_user == id_user for row in rows[1:])
    assert all(row.ip for row in rows)
    assert all(DEFAULT_PASSWORD not in (row.details or "") for row in rows)


def test_success_logout_and_password_change_are_audited(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    token = client.post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    new = "orchard-window-cinnamon-7714"
    rotated = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": new},
    ).json()["token"]
    client.post(
        "/api/v1/auth/password",
        headers={"Authorization": f"Bearer {rotated}"},
        json={"current_password": "not-the-current-one", "new_password": "whatever-else-1234"},
    )
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {rotated}"})
    actions = [(row.action, row.outcome, row.id_user) for row in trail(database)]
    assert actions == [
        ("login.succeeded", "allowed", id_user),
        ("password.changed", "allowed", id_user),
        ("password.change_refused", "denied", id_user),
        ("logout", "allowed", id_user),
    ]
    assert all(new not in (row.details or "") for row in trail(database))
