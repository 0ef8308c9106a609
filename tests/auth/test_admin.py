"""Administrators unlock accounts and end a user's sessions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Program, SchoolDistrict, UserProgram
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
    admin_id = make_user(database, settings, email=ADMIN, name="Dana Admin", role="district_admin")
    place_in_one_program(database, id_user, admin_id)
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": STAFF, "password": "wrong-password-x1"})
    assert fetch_user(database, id_user).locked_until is not None
    admin = sign_in(client, ADMIN)
    assert client.post(f"/api/v1/users/{id_user}/unlock", headers=admin).status_code == 204
    user = fetch_user(database, id_user)
    assert user.locked_until is None
    assert user.failed_login_attempts == 0
    assert sign_in(client, STAFF)


def place_in_one_program(database: Database, *id_users: int) -> None:
    with database.session_scope() as session:
        district = SchoolDistrict(name="Lakeside Schools")
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Reading")
        session.add(program)
        session.flush()
        for id_user in id_users:
            session.add(UserProgram(id_user=id_user, id_program=program.id_program))


def test_staff_cannot_unlock(client: TestClient, database: Database, settings: Settings) -> None:
    me = make_user(database, settings)
    colleague = make_user(database, settings, email="other@lakeside.example", name="Other Person")
    stranger = make_user(database, settings, email="far@lakeside.example", name="Far Away")
    place_in_one_program(database, me, colleague)
    staff = sign_in(client, STAFF)
    # A colleague of the same program is readable, so the refusal is 403; an account
    # outside every scope of the case manager is 404, like one that does not exist.
    assert client.post(f"/api/v1/users/{colleague}/unlock", headers=staff).status_code == 403
    assert client.post(f"/api/v1/users/{stranger}/unlock", headers=staff).status_code == 404
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
