"""/api/v1/programs: scoped lists, IDOR, the create rule, audit rows, refused deletes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import (
    Permission,
    Program,
    Role,
    RolePermission,
    Student,
    User,
    UserProgram,
)
from tests.districts import support
from tests.districts.support import World
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.fixtures.statements import count_statements

URL = "/api/v1/programs"


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return support.build(database, settings)


def ids(response_json: dict[str, object]) -> list[int]:
    items = response_json["items"]
    assert isinstance(items, list)
    return [item["id_program"] for item in items]


def test_lists_hold_exactly_the_programs_in_scope(
    client: TestClient, settings: Settings, world: World
) -> None:
    a = world.programs_a
    expected = {
        support.DISTRICT_ADMIN: a,
        support.AUDITOR: a,
        support.COORDINATOR: [a[0]],
        support.CASE_MANAGER: [a[0]],
        "Tomasz Nowak": [a[1], a[2]],
        support.SYSTEM_ADMIN: a + world.programs_b,
    }
    for name, programs in expected.items():
        response = client.get(URL, headers=support.demo_headers(client, settings, name))
        assert response.status_code == 200, (name, response.text)
        assert ids(response.json()) == programs, name
    admin_b = support.b_headers(client)
    assert ids(client.get(URL, headers=admin_b).json()) == world.programs_b


def test_the_district_filter_narrows_within_the_scope(
    client: TestClient, settings: Settings, world: World
) -> None:
    admin = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    own = client.get(URL, params={"id_school_district": world.district_a}, headers=admin)
    assert ids(own.json()) == world.programs_a
    other = client.get(URL, params={"id_school_district": world.district_b}, headers=admin)
    assert other.status_code == 200
    assert ids(other.json()) == []
    system = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    response = client.get(URL, params={"id_school_district": world.district_b}, headers=system)
    assert ids(response.json()) == world.programs_b


def test_district_admin_gets_404_for_another_districts_programs(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    before = support.snapshot(database, Program)
    for id_program in world.programs_b:
        target = f"{URL}/{id_program}"
        assert client.get(target, headers=headers).status_code == 404
        assert client.patch(target, json={"name": "Mine"}, headers=headers).status_code == 404
        assert client.delete(target, headers=headers).status_code == 404
    created = client.post(
        URL, json={"id_school_district": world.district_b, "name": "Planted"}, headers=headers
    )
    assert created.status_code == 404
    assert support.snapshot(database, Program) == before
    assert support.audit_rows(database, "program") == []


def test_district_admin_creates_in_own_district_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    response = client.post(
        URL,
        json={
            "id_school_district": world.district_a,
            "name": "Gifted and Talented",
            "description": "Enrichment plans.\nGrades 3-8.",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id_school_district"] == world.district_a
    assert body["description"] == "Enrichment plans.\nGrades 3-8."
    rows = support.audit_rows(database, "program", action="create")
    assert len(rows) == 1
    assert rows[0].record_id == str(body["id_program"])
    assert support.fields_of(rows[0]) == ["description", "id_school_district", "name"]
    listed = client.get(URL, headers=headers).json()
    assert ids(listed) == [*world.programs_a, body["id_program"]]


def test_roles_without_program_create_get_403(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    for name in (support.COORDINATOR, support.CASE_MANAGER, support.AUDITOR):
        headers = support.demo_headers(client, settings, name)
        response = client.post(
            URL, json={"id_school_district": world.district_a, "name": "Extra"}, headers=headers
        )
        assert response.status_code == 403, name
    assert support.count(database, Program) == 6
    assert support.audit_rows(database, "program") == []


def test_system_admin_creates_anywhere_but_not_in_a_missing_district(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    response = client.post(
        URL,
        json={"id_school_district": world.district_b, "name": "Northgate Arts"},
        headers=headers,
    )
    assert response.status_code == 201
    missing = client.post(
        URL, json={"id_school_district": 999999, "name": "Nowhere"}, headers=headers
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "id_school_district"
    assert support.count(database, Program) == 7


def test_district_create_needs_a_membership_in_that_district(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    """A role that reads every district but creates programs at district scope creates
    only where it holds an active membership."""
    wanted = {("school_district", "read", "global"), ("program", "create", "district")}
    with database.session_scope() as session:
        role = Role(name="regional_planner", description="Reads all districts.")
        session.add(role)
        session.flush()
        for permission in session.scalars(select(Permission)):
            if (permission.resource, permission.action, permission.scope) in wanted:
                session.add(
                    RolePermission(id_role=role.id_role, id_permission=permission.id_permission)
                )
    id_user = make_user(
        database, settings, email="ines.moreau@riverbend.example", name="Ines Moreau", role=None
    )
    with database.session_scope() as session:
        id_role = session.scalar(select(Role.id_role).where(Role.name == "regional_planner"))
        session.get_one(User, id_user).id_role = id_role
        session.add(UserProgram(id_user=id_user, id_program=world.programs_a[0], status="active"))
    headers = support.sign_in(client, "ines.moreau@riverbend.example", DEFAULT_PASSWORD)
    elsewhere = client.post(
        URL, json={"id_school_district": world.district_b, "name": "Outpost"}, headers=headers
    )
    assert elsewhere.status_code == 403
    home = client.post(
        URL, json={"id_school_district": world.district_a, "name": "Home Base"}, headers=headers
    )
    assert home.status_code == 201


def test_inactive_memberships_do_not_let_a_district_admin_create(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    with database.session_scope() as session:
        for membership in session.scalars(
            select(UserProgram).where(UserProgram.id_user == world.admin_b)
        ):
            membership.status = "inactive"
    headers = support.b_headers(client)
    response = client.post(
        URL, json={"id_school_district": world.district_b, "name": "Ghost"}, headers=headers
    )
    assert response.status_code == 404
    assert support.count(database, Program) == 6


def test_district_admin_updates_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    target = f"{URL}/{world.programs_a[3]}"
    response = client.patch(
        target, json={"name": "Student Wellness", "description": None}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] is None
    rows = support.audit_rows(database, "program", action="update")
    assert len(rows) == 1
    # The name was sent unchanged, so only the description is recorded as changed.
    assert support.fields_of(rows[0]) == ["description"]
    assert rows[0].record_id == str(world.programs_a[3])


def test_case_manager_cannot_change_programs(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.CASE_MANAGER)
    before = support.snapshot(database, Program)
    own = f"{URL}/{world.programs_a[0]}"
    assert client.get(own, headers=headers).status_code == 200
    assert client.patch(own, json={"name": "Renamed"}, headers=headers).status_code == 403
    assert client.delete(own, headers=headers).status_code == 403
    other = f"{URL}/{world.programs_a[1]}"
    assert client.get(other, headers=headers).status_code == 404
    assert client.patch(other, json={"name": "Renamed"}, headers=headers).status_code == 404
    assert client.delete(other, headers=headers).status_code == 404
    assert support.snapshot(database, Program) == before
    assert support.audit_rows(database, "program") == []


def test_programs_with_students_or_members_are_not_deleted(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    programs = support.snapshot(database, Program)
    students = support.snapshot(database, Student)
    memberships = support.snapshot(database, UserProgram)
    with_students = client.delete(f"{URL}/{world.programs_a[0]}", headers=headers)
    assert with_students.status_code == 409
    assert "16 student(s)" in with_students.json()["detail"]
    # Student Wellness has no students, only staff memberships.
    with_members = client.delete(f"{URL}/{world.programs_a[3]}", headers=headers)
    assert with_members.status_code == 409
    assert "0 student(s) and 4 staff membership(s)" in with_members.json()["detail"]
    assert support.snapshot(database, Program) == programs
    assert support.snapshot(database, Student) == students
    assert support.snapshot(database, UserProgram) == memberships
    assert support.audit_rows(database, "program") == []


def test_an_empty_program_is_deleted_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    created = client.post(
        URL, json={"id_school_district": world.district_a, "name": "Pilot"}, headers=headers
    ).json()
    target = f"{URL}/{created['id_program']}"
    assert client.delete(target, headers=headers).status_code == 204
    assert client.get(target, headers=headers).status_code == 404
    rows = support.audit_rows(database, "program", action="delete")
    assert len(rows) == 1
    assert rows[0].record_id == str(created["id_program"])
    assert support.fields_of(rows[0]) == ["description", "id_school_district", "name"]


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("post", {"id_school_district": "1", "name": "Strings are not ids"}),
        ("post", {"name": "No district"}),
        ("post", {"id_school_district": 0, "name": "Zero"}),
        ("post", {"id_school_district": 1, "name": "Ok", "id_program": 5}),
        ("post", {"id_school_district": 1, "name": "Ok", "description": "bell\x07"}),
        ("post", {"id_school_district": 1, "name": "Ok", "description": "x" * 4001}),
        ("patch", {"id_school_district": 2}),
        ("patch", {"name": None}),
        ("patch", {"name": "Ok", "owner": "me"}),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(
    client: TestClient,
    database: Database,
    settings: Settings,
    world: World,
    method: str,
    body: dict[str, object],
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    before = support.snapshot(database, Program)
    url = URL if method == "post" else f"{URL}/{world.programs_a[0]}"
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    assert support.snapshot(database, Program) == before
    assert support.audit_rows(database, "program") == []


def test_list_statement_count_does_not_grow_with_the_page(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    for name in (support.DISTRICT_ADMIN, support.SYSTEM_ADMIN):
        headers = support.demo_headers(client, settings, name)
        client.get(URL, headers=headers)
        counts = {}
        sizes = {}
        for limit in (1, 50):
            with count_statements(database.engine) as log:
                response = client.get(URL, params={"limit": limit}, headers=headers)
            assert response.status_code == 200
            counts[limit] = log.count
            sizes[limit] = len(response.json()["items"])
        assert sizes[1] == 1
        assert sizes[50] >= 4
        assert counts[1] == counts[50], name
