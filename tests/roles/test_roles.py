"""Roles, the permission catalogue and role-permission links (/roles, /permissions)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.authz.roles import default_grants
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Permission, Role, RolePermission
from tests.fixtures import demo
from tests.fixtures.factories import make_user
from tests.fixtures.statements import count_statements
from tests.users.helpers import (
    AUDITOR,
    CASE_MANAGER,
    COORDINATOR,
    DISTRICT_ADMIN,
    SYSTEM_ADMIN,
    audit_rows,
    last_audit_id,
    role_id,
    sign_in,
    sign_in_demo,
)

DEFAULT_ROLES = set(default_grants())


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def permission_id(database: Database, resource: str, action: str, scope: str) -> int:
    with database.session_scope() as session:
        found = session.scalar(
            select(Permission.id_permission).where(
                Permission.resource == resource,
                Permission.action == action,
                Permission.scope == scope,
            )
        )
    assert found is not None
    return found


def create_role(
    client: TestClient, headers: dict[str, str], name: str = "transition_specialist"
) -> int:
    response = client.post(
        "/api/v1/roles",
        json={"name": name, "description": "Plans post-secondary transition."},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    id_role: int = response.json()["id_role"]
    return id_role


@pytest.mark.parametrize("name", [SYSTEM_ADMIN, DISTRICT_ADMIN, COORDINATOR, AUDITOR])
def test_roles_are_read_by_the_roles_that_hold_role_read(
    client: TestClient, settings: Settings, staff: demo.DemoStaff, name: str
) -> None:
    headers = sign_in_demo(client, settings, name)
    listed = client.get("/api/v1/roles", headers=headers).json()
    assert {role["name"] for role in listed["items"]} == DEFAULT_ROLES
    assert set(listed["items"][0]) == {
        "id_role",
        "name",
        "description",
        "requires_second_factor",
        "created_at",
    }


def test_roles_are_hidden_from_roles_without_role_read(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, CASE_MANAGER)
    assert client.get("/api/v1/roles", headers=headers).json() == {"items": [], "next_cursor": None}
    assert client.get("/api/v1/permissions", headers=headers).json()["items"] == []
    id_role = role_id(database, "case_manager")
    before = last_audit_id(database)
    assert client.get(f"/api/v1/roles/{id_role}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/roles/{id_role}/permissions", headers=headers).status_code == 404
    assert client.post("/api/v1/roles", json={"name": "x"}, headers=headers).status_code == 403
    assert [row["outcome"] for row in audit_rows(database, after=before)] == ["denied"] * 3


def test_role_permissions_match_the_default_matrix(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, DISTRICT_ADMIN)
    for name, expected in default_grants().items():
        id_role = role_id(database, name)
        page = client.get(
            f"/api/v1/roles/{id_role}/permissions", params={"limit": 200}, headers=headers
        ).json()
        assert page["next_cursor"] is None
        held = {(p["resource"], p["action"], p["scope"]) for p in page["items"]}
        assert held == expected, name


def test_permission_catalogue_filters(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, AUDITOR)
    page = client.get(
        "/api/v1/permissions", params={"resource": "user", "action": "read"}, headers=headers
    ).json()
    with database.session_scope() as session:
        expected = set(
            session.scalars(
                select(Permission.scope).where(
                    Permission.resource == "user", Permission.action == "read"
                )
            )
        )
    assert {p["scope"] for p in page["items"]} == expected
    assert {(p["resource"], p["action"]) for p in page["items"]} == {("user", "read")}
    sensitive = client.get(
        "/api/v1/permissions",
        params={"action": "read_sensitive", "scope": "assigned"},
        headers=headers,
    ).json()["items"]
    assert [(p["resource"], p["scope"]) for p in sensitive] == [("progress_event", "assigned")]


def test_system_admin_manages_a_role_with_one_audit_row_per_change(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, SYSTEM_ADMIN)

    mark = last_audit_id(database)
    id_role = create_role(client, headers)
    rows = audit_rows(database, after=mark)
    assert [(r["action"], r["record_id"]) for r in rows] == [("create", str(id_role))]
    assert rows[0]["details"] == {"fields": ["description", "name"]}

    mark = last_audit_id(database)
    renamed = client.patch(
        f"/api/v1/roles/{id_role}",
        json={"name": "transition_lead", "description": None},
        headers=headers,
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "transition_lead" and renamed.json()["description"] is None
    rows = audit_rows(database, after=mark)
    assert len(rows) == 1 and rows[0]["details"] == {"fields": ["description", "name"]}

    read_goals = permission_id(database, "goal", "read", "assigned")
    mark = last_audit_id(database)
    added = client.post(
        f"/api/v1/roles/{id_role}/permissions", json={"id_permission": read_goals}, headers=headers
    )
    assert added.status_code == 201 and added.json()["id_permission"] == read_goals
    rows = audit_rows(database, after=mark)
    assert [(r["action"], r["outcome"]) for r in rows] == [("grant_permission", "allowed")]
    listed = client.get(f"/api/v1/roles/{id_role}/permissions", headers=headers).json()["items"]
    assert [p["id_permission"] for p in listed] == [read_goals]
    duplicate = client.post(
        f"/api/v1/roles/{id_role}/permissions", json={"id_permission": read_goals}, headers=headers
    )
    assert duplicate.status_code == 409

    mark = last_audit_id(database)
    path = f"/api/v1/roles/{id_role}/permissions/{read_goals}"
    assert client.delete(path, headers=headers).status_code == 204
    assert [r["action"] for r in audit_rows(database, after=mark)] == ["revoke_permission"]
    assert client.delete(path, headers=headers).status_code == 404

    mark = last_audit_id(database)
    assert client.delete(f"/api/v1/roles/{id_role}", headers=headers).status_code == 204
    assert [r["action"] for r in audit_rows(database, after=mark)] == ["delete"]
    assert client.get(f"/api/v1/roles/{id_role}", headers=headers).status_code == 404


def test_role_names_are_unique_and_inputs_strict(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, SYSTEM_ADMIN)
    assert (
        client.post("/api/v1/roles", json={"name": "auditor"}, headers=headers).status_code == 409
    )
    id_role = create_role(client, headers)
    clash = client.patch(f"/api/v1/roles/{id_role}", json={"name": "nurse"}, headers=headers)
    assert clash.status_code == 409
    for body in ({"name": "x", "id_role": 1}, {"name": "x", "created_at": None}, {"name": 5}):
        assert client.post("/api/v1/roles", json=body, headers=headers).status_code == 422
    assert client.post("/api/v1/roles", json={"name": "   "}, headers=headers).status_code == 422
    assert (
        client.patch(f"/api/v1/roles/{id_role}", json={"name": None}, headers=headers).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/roles/{id_role}/permissions",
            json={"id_permission": 1, "scope": "global"},
            headers=headers,
        ).status_code
        == 422
    )
    missing = client.post(
        f"/api/v1/roles/{id_role}/permissions", json={"id_permission": 999_999}, headers=headers
    )
    assert missing.status_code == 422
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Role).where(Role.name == "x")) == 0


def test_a_role_held_by_accounts_or_a_default_role_is_not_deleted(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, SYSTEM_ADMIN)
    id_role = create_role(client, headers)
    holder = make_user(
        database, settings, email="ida.holm@riverbend-usd.example", name="Ida Holm", role=None
    )
    assert (
        client.patch(
            f"/api/v1/users/{holder}", json={"id_role": id_role}, headers=headers
        ).status_code
        == 200
    )
    held = client.delete(f"/api/v1/roles/{id_role}", headers=headers)
    assert held.status_code == 409 and "1 account" in held.json()["detail"]
    nurse = role_id(database, "nurse")
    assert client.delete(f"/api/v1/roles/{nurse}", headers=headers).status_code == 409
    assert (
        client.patch(
            f"/api/v1/roles/{nurse}", json={"name": "school_nurse"}, headers=headers
        ).status_code
        == 409
    )
    described = client.patch(
        f"/api/v1/roles/{nurse}", json={"description": "School health office."}, headers=headers
    )
    assert described.status_code == 200
    with database.session_scope() as session:
        assert session.get(Role, id_role) is not None
        links = session.scalar(
            select(func.count()).select_from(RolePermission).where(RolePermission.id_role == nurse)
        )
        assert links == len(default_grants()["nurse"])


def test_district_admin_reads_roles_but_changes_none(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, DISTRICT_ADMIN)
    own_role = role_id(database, "district_admin")
    read_health = permission_id(database, "health_note", "read", "program")
    before = last_audit_id(database)
    attempts = [
        client.post(
            f"/api/v1/roles/{own_role}/permissions",
            json={"id_permission": read_health},
            headers=headers,
        ),
        client.patch(f"/api/v1/roles/{own_role}", json={"description": "mine"}, headers=headers),
        client.post("/api/v1/roles", json={"name": "shadow_admin"}, headers=headers),
        client.delete(f"/api/v1/roles/{role_id(database, 'auditor')}", headers=headers),
    ]
    assert [response.status_code for response in attempts] == [403, 403, 403, 403]
    assert [row["outcome"] for row in audit_rows(database, after=before)] == ["denied"] * 4
    with database.session_scope() as session:
        linked = session.scalar(
            select(func.count())
            .select_from(RolePermission)
            .where(RolePermission.id_role == own_role, RolePermission.id_permission == read_health)
        )
        assert linked == 0


def test_nobody_changes_the_rights_of_their_own_role(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, SYSTEM_ADMIN)
    own_role = role_id(database, "system_admin")
    # Not linked to system_admin (it reads the trail globally): a grant, not a no-op.
    narrow_audit = permission_id(database, "audit_event", "read", "district")
    held = permission_id(database, "role", "update", "global")
    before = last_audit_id(database)
    added = client.post(
        f"/api/v1/roles/{own_role}/permissions",
        json={"id_permission": narrow_audit},
        headers=headers,
    )
    removed = client.delete(f"/api/v1/roles/{own_role}/permissions/{held}", headers=headers)
    assert (added.status_code, removed.status_code) == (403, 403)
    rows = audit_rows(database, after=before)
    assert [(r["action"], r["outcome"]) for r in rows] == [
        ("grant_permission", "denied"),
        ("revoke_permission", "denied"),
    ]
    root = role_id(database, "system_admin")
    listed = client.get(f"/api/v1/roles/{root}/permissions", params={"limit": 200}, headers=headers)
    assert held in {p["id_permission"] for p in listed.json()["items"]}
    assert narrow_audit not in {p["id_permission"] for p in listed.json()["items"]}


def test_a_role_manager_adds_only_rights_they_hold(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    """A custom role that manages roles but reads no health notes cannot hand out
    health-note rights, nor widen a scope beyond its own."""
    root = sign_in_demo(client, settings, SYSTEM_ADMIN)
    manager_role = create_role(client, root, "role_manager")
    for triple in (
        ("role", "read", "global"),
        ("role", "update", "global"),
        ("goal", "read", "program"),
    ):
        response = client.post(
            f"/api/v1/roles/{manager_role}/permissions",
            json={"id_permission": permission_id(database, *triple)},
            headers=root,
        )
        assert response.status_code == 201
    make_user(
        database,
        settings,
        email="rolf.manager@riverbend-usd.example",
        name="Rolf Manager",
        role="role_manager",
    )
    manager = sign_in(client, "rolf.manager@riverbend-usd.example")
    target = create_role(client, root, "helper")

    def add(triple: tuple[str, str, str]) -> int:
        return client.post(
            f"/api/v1/roles/{target}/permissions",
            json={"id_permission": permission_id(database, *triple)},
            headers=manager,
        ).status_code

    before = last_audit_id(database)
    assert add(("health_note", "read", "assigned")) == 403
    assert add(("goal", "read", "district")) == 403  # wider than held
    rows = audit_rows(database, after=before)
    assert [(r["action"], r["outcome"], r["details"]["reason"]) for r in rows] == [
        ("grant_permission", "denied", "escalation")
    ] * 2
    assert add(("goal", "read", "assigned")) == 201  # narrower than held
    assert add(("goal", "read", "program")) == 201


@pytest.mark.parametrize("path", ["/api/v1/roles", "/api/v1/permissions"])
def test_lists_issue_the_same_statements_for_any_page_size(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, path: str
) -> None:
    headers = sign_in_demo(client, settings, DISTRICT_ADMIN)
    counts = []
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get(path, params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        assert (len(response.json()["items"]) == 1) == (limit == 1)
        counts.append(log.count)
    assert counts[0] == counts[1]


def test_role_permissions_page_through(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in_demo(client, settings, AUDITOR)
    id_role = role_id(database, "system_admin")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get(
            f"/api/v1/roles/{id_role}/permissions", params=params, headers=headers
        ).json()
        seen.extend(p["id_permission"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert len(seen) == len(default_grants()["system_admin"])
