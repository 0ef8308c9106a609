"""No privilege escalation through accounts (SPEC section 5): a role can be granted only
by someone holding all its rights, nobody changes their own role, and an account that
outranks the actor cannot be changed by them. Every refusal is on the audit trail."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import User
from tests.fixtures import demo
from tests.users.helpers import (
    COUNSELOR,
    DISTRICT_ADMIN,
    GOOD_PASSWORD,
    SYSTEM_ADMIN,
    audit_rows,
    last_audit_id,
    role_id,
    sign_in_demo,
)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.mark.parametrize("role", ["counselor", "nurse", "system_admin"])
def test_district_admin_cannot_create_a_user_with_a_stronger_role(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, role: str
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    before = last_audit_id(database)
    response = client.post(
        "/api/v1/users",
        json={
            "email": "new.person@riverbend-usd.example",
            "name": "New Person",
            "id_role": role_id(database, role),
            "password": GOOD_PASSWORD,
        },
        headers=admin,
    )
    assert response.status_code == 403
    assert "every right you hold yourself" in response.json()["detail"]
    assert ":" not in response.json()["detail"].split("yourself.")[1]
    rows = audit_rows(database, after=before)
    assert len(rows) == 1
    assert rows[0]["outcome"] == "denied" and rows[0]["action"] == "grant_role"
    assert rows[0]["id_user"] == staff.first("district_admin")
    assert rows[0]["details"]["reason"] == "escalation"
    assert rows[0]["details"]["missing"]
    with database.session_scope() as session:
        assert session.scalar(select(User).where(User.email.like("new.person%"))) is None


@pytest.mark.parametrize("role", ["counselor", "system_admin"])
def test_district_admin_cannot_grant_a_stronger_role_to_an_existing_user(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, role: str
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    target = staff.first("case_manager")
    before = last_audit_id(database)
    response = client.patch(
        f"/api/v1/users/{target}", json={"id_role": role_id(database, role)}, headers=admin
    )
    assert response.status_code == 403
    rows = audit_rows(database, after=before)
    assert [(row["action"], row["outcome"]) for row in rows] == [("grant_role", "denied")]
    assert rows[0]["record_id"] == str(target)
    with database.session_scope() as session:
        user = session.get(User, target)
        assert user is not None and user.id_role == role_id(database, "case_manager")


def test_district_admin_grants_roles_they_hold_every_right_of(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    target = staff.first("case_manager")
    for role in ("program_coordinator", "auditor", "case_manager"):
        response = client.patch(
            f"/api/v1/users/{target}", json={"id_role": role_id(database, role)}, headers=admin
        )
        assert response.status_code == 200, (role, response.text)
        assert response.json()["id_role"] == role_id(database, role)


@pytest.mark.parametrize("name", [SYSTEM_ADMIN, DISTRICT_ADMIN])
def test_nobody_changes_their_own_role(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, name: str
) -> None:
    headers = sign_in_demo(client, settings, name)
    me = staff.by_email[demo_email(name)]
    before = last_audit_id(database)
    response = client.patch(
        f"/api/v1/users/{me}", json={"id_role": role_id(database, "auditor")}, headers=headers
    )
    assert response.status_code == 403
    rows = audit_rows(database, after=before)
    assert [(row["action"], row["outcome"]) for row in rows] == [("grant_role", "denied")]
    assert rows[0]["details"]["reason"] == "own_role"
    # Sending one's current role is no change, and so no grant.
    with database.session_scope() as session:
        user = session.get(User, me)
        assert user is not None
        current = user.id_role
    unchanged = client.patch(f"/api/v1/users/{me}", json={"id_role": current}, headers=headers)
    assert unchanged.status_code == 200


def test_an_account_that_outranks_the_actor_cannot_be_changed_by_them(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    """SPEC section 11: the system administrator belongs to no district, so a district
    administrator cannot even find the account; a counselor of the district outranks
    them (health-note rights), so every change to that account is refused with one
    rule, and each refusal is on the trail."""
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    system_admin = staff.first("system_admin")
    counselor = staff.by_email[demo_email(COUNSELOR)]
    hidden = [
        client.get(f"/api/v1/users/{system_admin}", headers=admin),
        client.patch(
            f"/api/v1/users/{system_admin}",
            json={"email": "marcus.takeover@riverbend-usd.example"},
            headers=admin,
        ),
        client.post(f"/api/v1/users/{system_admin}/deactivate", headers=admin),
        client.post(f"/api/v1/users/{system_admin}/unlock", headers=admin),
        client.delete(f"/api/v1/users/{system_admin}/sessions", headers=admin),
    ]
    assert [response.status_code for response in hidden] == [404] * 5
    assert client.get(f"/api/v1/users/{counselor}", headers=admin).status_code == 200
    before = last_audit_id(database)
    attempts = [
        client.patch(
            f"/api/v1/users/{counselor}",
            json={"email": "marcus.takeover@riverbend-usd.example"},
            headers=admin,
        ),
        client.patch(
            f"/api/v1/users/{counselor}",
            json={"id_role": role_id(database, "case_manager")},
            headers=admin,
        ),
        client.post(f"/api/v1/users/{counselor}/deactivate", headers=admin),
        client.post(f"/api/v1/users/{counselor}/unlock", headers=admin),
        client.delete(f"/api/v1/users/{counselor}/sessions", headers=admin),
    ]
    assert [response.status_code for response in attempts] == [403] * 5
    for response in attempts:
        assert "only someone who holds them may change it" in response.json()["detail"]
    rows = audit_rows(database, after=before)
    assert [row["outcome"] for row in rows] == ["denied"] * 5
    assert {row["details"]["reason"] for row in rows} == {"outranks"}
    with database.session_scope() as session:
        user = session.get(User, counselor)
        assert user is not None
        assert user.email == demo_email(COUNSELOR) and user.deactivated_at is None
    # The system administrator holds every right, so may change the counselor.
    root = sign_in_demo(client, settings, SYSTEM_ADMIN)
    assert client.post(f"/api/v1/users/{counselor}/deactivate", headers=root).status_code == 200
