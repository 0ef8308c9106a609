"""POST /students/access/bulk: a caseload in one request, all or nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import UserStudent
from tests.fixtures import demo
from tests.student_access.support import (
    API,
    audit_rows,
    caseload,
    demo_headers,
    other_district,
    students_of_program,
)

URL = f"{API}/students/access/bulk"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def assignment_count(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(UserStudent)) or 0)


def test_bulk_assigns_a_caseload_and_reports_existing_links(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    elena, jordan = staff.by_role["case_manager"][:2]
    jordans = [link.id_student for link in caseload(database, jordan)]
    new = [link.id_student for link in caseload(database, elena)][:3]
    coordinator = demo_headers(client, settings, staff, staff.first("program_coordinator"))
    before = assignment_count(database)
    response = client.post(
        URL,
        headers=coordinator,
        json={
            "id_user": jordan,
            "id_students": [new[0], jordans[0], new[1], new[0], new[2]],
            "access_level": "read",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id_user"] == jordan
    assert [item["id_student"] for item in body["created"]] == new
    assert all(item["access_level"] == "read" for item in body["created"])
    assert all(item["email"] == "jordan.blake@riverbend-usd.example" for item in body["created"])
    assert [(item["id_student"], item["access_level"]) for item in body["existing"]] == [
        (jordans[0], "write")
    ]
    assert assignment_count(database) == before + 3
    levels = {link.id_student: link.access_level for link in caseload(database, jordan)}
    assert [levels[id_student] for id_student in new] == ["read"] * 3
    assert levels[jordans[0]] == "write"
    created = audit_rows(database, action="create", resource="student_access")
    assert sorted(row.id_student for row in created) == sorted(new)
    assert {row.record_id for row in created} == {
        str(item["id_user_student"]) for item in body["created"]
    }

    # The read-only links grant reads on Jordan's next request.
    jordan_headers = demo_headers(client, settings, staff, jordan)
    seen = client.get(f"{API}/students/{new[0]}/access", headers=jordan_headers)
    assert seen.status_code == 200


def test_bulk_refuses_atomically_when_one_student_is_out_of_scope(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_coordinator = staff.first("program_coordinator")
    in_scope = students_of_program(database, id_coordinator)[:2]
    outside = students_of_program(database, staff.by_role["program_coordinator"][1])[0]
    coordinator = demo_headers(client, settings, staff, id_coordinator)
    before = assignment_count(database)
    response = client.post(
        URL,
        headers=coordinator,
        json={"id_user": staff.first("nurse"), "id_students": [*in_scope, outside]},
    )
    assert response.status_code == 404
    assert str(outside) in response.text
    assert str(in_scope[0]) not in response.json()["errors"][0]["message"]
    assert assignment_count(database) == before
    assert audit_rows(database, action="create", outcome="allowed") == []
    denied = audit_rows(database, outcome="denied", resource="student_access")
    assert [(row.id_student, row.details) for row in denied] == [
        (outside, '{"reason": "student_out_of_scope"}')
    ]


def test_bulk_refuses_another_districts_student_and_unknown_ids(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    admin = demo_headers(client, settings, staff, staff.first("district_admin"))
    mine = caseload(database, staff.first("case_manager"))[0].id_student
    before = assignment_count(database)
    for foreign in (other.id_students[1], 2_000_000_000):
        response = client.post(
            URL,
            headers=admin,
            json={"id_user": staff.first("nurse"), "id_students": [mine, foreign]},
        )
        assert response.status_code == 404
    assert assignment_count(database) == before


def test_bulk_is_403_when_the_students_are_readable_but_not_assignable(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    mine = [link.id_student for link in caseload(database, id_case_manager)][:3]
    before = assignment_count(database)
    for role in ("case_manager", "auditor"):
        headers = demo_headers(client, settings, staff, staff.first(role))
        response = client.post(
            URL,
            headers=headers,
            json={"id_user": staff.by_role["case_manager"][1], "id_students": mine},
        )
        assert response.status_code == 403, role
    assert assignment_count(database) == before
    denied = audit_rows(database, outcome="denied", action="create", id_user=id_case_manager)
    assert sorted(row.id_student for row in denied) == sorted(mine)


def test_bulk_refuses_bad_bodies(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    admin = demo_headers(client, settings, staff, staff.first("district_admin"))
    mine = caseload(database, staff.first("case_manager"))[0].id_student
    nurse = staff.first("nurse")
    before = assignment_count(database)
    for body in (
        {"id_user": nurse, "id_students": []},
        {"id_user": nurse, "id_students": list(range(1, 202))},
        {"id_user": nurse, "id_students": [str(mine)]},
        {"id_user": nurse, "id_students": [0]},
        {"id_user": nurse, "id_students": [mine], "access_level": "all"},
        {"id_user": nurse, "id_students": [mine], "is_primary": True},
        {"id_students": [mine]},
    ):
        assert client.post(URL, headers=admin, json=body).status_code == 422, body
    unknown_user = client.post(
        URL, headers=admin, json={"id_user": 2_000_000_000, "id_students": [mine]}
    )
    assert unknown_user.status_code == 404
    assert assignment_count(database) == before
