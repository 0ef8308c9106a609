"""/api/v1/programs/{id}/members: memberships are grants, effective on the next request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import Student, User, UserProgram
from tests.districts import support
from tests.districts.support import World
from tests.fixtures import demo
from tests.fixtures.factories import make_user
from tests.fixtures.statements import count_statements

URL = "/api/v1/programs"


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return support.build(database, settings)


def members_url(id_program: int, id_user_program: int | None = None) -> str:
    base = f"{URL}/{id_program}/members"
    return base if id_user_program is None else f"{base}/{id_user_program}"


def membership_of(database: Database, email: str, id_program: int) -> int:
    with database.session_scope() as session:
        return session.scalars(
            select(UserProgram.id_user_program)
            .join(User, User.id_user == UserProgram.id_user)
            .where(User.email == email, UserProgram.id_program == id_program)
        ).one()


def memberships_of_program(database: Database, id_program: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(UserProgram.id_user_program)
                .where(UserProgram.id_program == id_program)
                .order_by(UserProgram.id_user_program)
            )
        )


def test_members_list_holds_exactly_the_programs_memberships(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    program = world.programs_a[0]
    expected = memberships_of_program(database, program)
    assert len(expected) == 7
    for name in (support.DISTRICT_ADMIN, support.COORDINATOR, support.AUDITOR):
        response = client.get(
            members_url(program), headers=support.demo_headers(client, settings, name)
        )
        assert response.status_code == 200, (name, response.text)
        items = response.json()["items"]
        assert [item["id_user_program"] for item in items] == expected, name
        assert {item["id_program"] for item in items} == {program}
        marcus = next(i for i in items if i["email"] == demo_email(support.DISTRICT_ADMIN))
        assert marcus["name"] == support.DISTRICT_ADMIN
        assert marcus["status"] == "active"


def test_case_manager_reads_the_program_but_no_memberships(
    client: TestClient, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.CASE_MANAGER)
    own = client.get(members_url(world.programs_a[0]), headers=headers)
    assert own.status_code == 200
    assert own.json() == {"items": [], "next_cursor": None}
    assert client.get(members_url(world.programs_a[1]), headers=headers).status_code == 404


def test_district_admin_gets_404_for_another_districts_memberships(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    before = support.snapshot(database, UserProgram)
    program_b = world.programs_b[0]
    unplaced = make_user(
        database, settings, email="rosa.lind@riverbend.example", name="Rosa Lind", role=None
    )
    assert client.get(members_url(program_b), headers=headers).status_code == 404
    assert (
        client.post(members_url(program_b), json={"id_user": unplaced}, headers=headers).status_code
        == 404
    )
    own_program = world.programs_a[0]
    for url in (
        members_url(program_b, world.membership_b),
        # B's membership reached through a program of A is not found either.
        members_url(own_program, world.membership_b),
    ):
        assert client.get(url, headers=headers).status_code == 404
        assert client.patch(url, json={"status": "inactive"}, headers=headers).status_code == 404
        assert client.delete(url, headers=headers).status_code == 404
    # B's staff cannot be placed in A's programs: their accounts are out of A's scope.
    response = client.post(
        members_url(own_program), json={"id_user": world.coordinator_b}, headers=headers
    )
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "id_user"
    assert support.snapshot(database, UserProgram) == before
    assert support.audit_rows(database, "program_membership") == []


def test_district_admin_adds_updates_and_removes_a_member_with_one_audit_row_each(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    program = world.programs_a[2]
    new_user = make_user(
        database,
        settings,
        email="rosa.lind@riverbend.example",
        name="Rosa Lind",
        id_school_district_home=world.district_a,
    )
    created = client.post(
        members_url(program), json={"id_user": new_user, "is_primary": True}, headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id_user"] == new_user
    assert body["id_program"] == program
    assert body["is_primary"] is True
    assert body["status"] == "active"
    assert body["name"] == "Rosa Lind"
    rows = support.audit_rows(database, "program_membership")
    assert [(row.action, row.record_id) for row in rows] == [
        ("create", str(body["id_user_program"]))
    ]
    assert support.fields_of(rows[0]) == ["id_program", "id_user", "is_primary", "status"]

    duplicate = client.post(members_url(program), json={"id_user": new_user}, headers=headers)
    assert duplicate.status_code == 409
    assert str(body["id_user_program"]) in duplicate.json()["detail"]

    item = members_url(program, body["id_user_program"])
    updated = client.patch(item, json={"status": "inactive", "is_primary": True}, headers=headers)
    assert updated.status_code == 200
    assert updated.json()["status"] == "inactive"
    rows = support.audit_rows(database, "program_membership", action="update")
    assert len(rows) == 1
    assert support.fields_of(rows[0]) == ["status"]

    assert client.delete(item, headers=headers).status_code == 204
    assert client.get(item, headers=headers).status_code == 404
    rows = support.audit_rows(database, "program_membership")
    assert [row.action for row in rows] == ["create", "update", "delete"]
    assert support.count(database, UserProgram, UserProgram.id_user == new_user) == 0


def test_an_inactive_or_removed_membership_stops_granting_access(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    admin = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    coordinator = support.demo_headers(client, settings, support.COORDINATOR)
    program = world.programs_a[0]
    id_coordinator = world.staff.first("program_coordinator")

    def visible_students() -> int:
        with database.session_scope() as session:
            authz = demo.authorizer_for(database, session, id_coordinator)
            return len(
                session.scalars(select(Student.id_student).where(authz.readable("student"))).all()
            )

    assert [p["id_program"] for p in client.get(URL, headers=coordinator).json()["items"]] == [
        program
    ]
    assert visible_students() == 16
    membership = membership_of(database, demo_email(support.COORDINATOR), program)
    item = members_url(program, membership)
    response = client.patch(item, json={"status": "inactive"}, headers=admin)
    assert response.status_code == 200

    # The very next request of the same session sees nothing of the program.
    assert client.get(URL, headers=coordinator).json()["items"] == []
    assert client.get(f"{URL}/{program}", headers=coordinator).status_code == 404
    assert client.get(members_url(program), headers=coordinator).status_code == 404
    assert visible_students() == 0

    assert client.patch(item, json={"status": "active"}, headers=admin).status_code == 200
    assert len(client.get(URL, headers=coordinator).json()["items"]) == 1
    assert visible_students() == 16

    assert client.delete(item, headers=admin).status_code == 204
    assert client.get(URL, headers=coordinator).json()["items"] == []
    assert visible_students() == 0


def test_member_names_show_only_where_the_account_is_readable(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    """A coordinator reads her program's memberships but only its active members'
    accounts: an inactive member's row shows, their name and email do not."""
    admin = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    program = world.programs_a[0]
    membership = membership_of(database, demo_email("Jordan Blake"), program)
    assert (
        client.patch(
            members_url(program, membership), json={"status": "inactive"}, headers=admin
        ).status_code
        == 200
    )
    coordinator = support.demo_headers(client, settings, support.COORDINATOR)
    items = client.get(members_url(program), headers=coordinator).json()["items"]
    row = next(item for item in items if item["id_user_program"] == membership)
    assert row["status"] == "inactive"
    assert row["name"] is None
    assert row["email"] is None
    assert all(item["name"] for item in items if item["id_user_program"] != membership)
    # The administrator still reads that account, so sees the name.
    items = client.get(members_url(program), headers=admin).json()["items"]
    assert next(i for i in items if i["id_user_program"] == membership)["name"] == "Jordan Blake"


def test_readers_get_403_and_others_404_on_membership_changes(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    before = support.snapshot(database, UserProgram)
    program = world.programs_a[0]
    membership = membership_of(database, demo_email(support.CASE_MANAGER), program)
    item = members_url(program, membership)
    newcomer = make_user(
        database,
        settings,
        email="rosa.lind@riverbend.example",
        name="Rosa Lind",
        id_school_district_home=world.district_a,
    )
    coordinator = support.demo_headers(client, settings, support.COORDINATOR)
    assert client.get(item, headers=coordinator).status_code == 200
    assert client.patch(item, json={"status": "inactive"}, headers=coordinator).status_code == 403
    assert client.delete(item, headers=coordinator).status_code == 403
    assert (
        client.post(members_url(program), json={"id_user": newcomer}, headers=coordinator)
    ).status_code == 403
    case_manager = support.demo_headers(client, settings, support.CASE_MANAGER)
    # She reads the program but no membership, not even her own.
    assert client.get(item, headers=case_manager).status_code == 404
    assert client.patch(item, json={"status": "inactive"}, headers=case_manager).status_code == 404
    assert client.delete(item, headers=case_manager).status_code == 404
    assert (
        client.post(members_url(program), json={"id_user": newcomer}, headers=case_manager)
    ).status_code == 403
    assert support.snapshot(database, UserProgram) == before
    assert support.audit_rows(database, "program_membership") == []


def test_unknown_missing_and_deactivated_users_are_refused(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    program = world.programs_a[1]
    missing = client.post(members_url(program), json={"id_user": 999999}, headers=headers)
    assert missing.status_code == 404
    leaver = make_user(
        database,
        settings,
        email="old.hand@riverbend.example",
        name="Old Hand",
        id_school_district_home=world.district_a,
    )
    with database.session_scope() as session:
        session.get_one(User, leaver).deactivated_at = support.CREATED
    deactivated = client.post(members_url(program), json={"id_user": leaver}, headers=headers)
    assert deactivated.status_code == 422
    assert support.count(database, UserProgram, UserProgram.id_user == leaver) == 0
    assert support.audit_rows(database, "program_membership") == []


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("post", {"id_user": 1, "role": "admin"}),
        ("post", {"id_user": "1"}),
        ("post", {"id_user": 1, "status": "suspended"}),
        ("post", {"id_user": 1, "is_primary": "yes"}),
        ("post", {}),
        ("patch", {"status": None}),
        ("patch", {"is_primary": None}),
        ("patch", {"id_program": 3}),
        ("patch", {"status": "retired"}),
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
    before = support.snapshot(database, UserProgram)
    program = world.programs_a[0]
    membership = memberships_of_program(database, program)[0]
    url = members_url(program) if method == "post" else members_url(program, membership)
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    assert support.snapshot(database, UserProgram) == before
    assert support.audit_rows(database, "program_membership") == []


def test_members_statement_count_does_not_grow_with_the_page(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.COORDINATOR)
    url = members_url(world.programs_a[0])
    client.get(url, headers=headers)
    counts = {}
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get(url, params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        assert len(response.json()["items"]) == min(limit, 7)
        counts[limit] = log.count
    assert counts[1] == counts[50]
