"""Administrators unlock accounts and end a user's sessions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from tests.fixtures.factories import DEFAULT_PASSWORD, fetch_user, make_user

STAFF = "casey.morgan@lakeside.example"
ADMIN = "dana.admin@lakeside.example"


def sign_in(client: TestClient, email: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_admin_unlocks_an_account(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    make_user(database, settings, email=ADMIN, name="Dana Admin", role="district_admin")
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": STAFF, "password": "wrong-password-x1"})
    assert fetch_user(database, id_user).locked_until is not None
    admin = sign_in(client, ADMIN)
    assert client.post(f"/api/v1/users/{id_user}/unlock", headers=admin).status_code == 204
    user = fetch_user(database, id_user)
    assert user.locked_until is None
    assert user.failed_login_attempts == 0
    assert sign_in(client, STAFF)


def test_staff_cannot_unlock(client: TestClient, database: Database, settings: Settings) -> None:
    make_user(database, settings)
    other = make_user(database, settings, email="other@lakeside.example", name="Other Person")
    staff = sign_in(client, STAFF)
    assert client.post(f"/api/v1/users/{other}/unlock", headers=staff).status_code == 403
    assert client.post("/api/v1/users/999999/unlock", headers=staff).status_code == 404


def test_admin_ends_a_users_sessions(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    make_user(database, settings, email=ADMIN, name="Dana Admin", role="system_admin")
    staff = sign_in(client, STAFF)
    admin = sign_in(client, ADMIN)
    assert client.delete(f"/api/v1/users/{id_user}/sessions", headers=admin).status_code == 204
    assert client.get("/api/v1/auth/me", headers=staff).status_code == 401
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 200
