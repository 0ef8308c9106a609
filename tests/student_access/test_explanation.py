"""GET /students/{id}/access-explanation: why the viewer may see the student."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from tests.fixtures import demo
from tests.student_access.support import (
    API,
    audit_rows,
    caseload,
    demo_headers,
    students_of_program,
)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def test_counselor_is_told_about_the_assignment_and_the_read_is_audited(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_counselor = staff.first("counselor")
    id_student = caseload(database, id_counselor)[0].id_student
    headers = demo_headers(client, settings, staff, id_counselor)
    response = client.get(f"{API}/students/{id_student}/access-explanation", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id_student"] == id_student
    assert body["id_user"] == id_counselor
    assert body["role"] == "counselor"
    assert [(r["permission"], r["scope"]) for r in body["reasons"]] == [
        ("student:read:assigned", "assigned")
    ]
    assert "assigned to this student" in body["reasons"][0]["explanation"]
    assert "write access" in body["reasons"][0]["explanation"]
    reads = audit_rows(database, action="read", resource="student_access")
    assert [(row.id_user, row.id_student, row.outcome) for row in reads] == [
        (id_counselor, id_student, "allowed")
    ]


def test_district_admin_reads_by_district(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = students_of_program(database, staff.first("program_coordinator"))[0]
    headers = demo_headers(client, settings, staff, staff.first("district_admin"))
    body = client.get(f"{API}/students/{id_student}/access-explanation", headers=headers).json()
    assert body["role"] == "district_admin"
    assert [r["scope"] for r in body["reasons"]] == ["district"]
    assert "Riverbend Unified School District" in body["reasons"][0]["explanation"]


def test_unassigned_student_is_404_and_the_denial_is_audited(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    elena, jordan = staff.by_role["case_manager"][:2]
    mine = {link.id_student for link in caseload(database, elena)}
    id_student = next(
        link.id_student for link in caseload(database, jordan) if link.id_student not in mine
    )
    headers = demo_headers(client, settings, staff, elena)
    response = client.get(f"{API}/students/{id_student}/access-explanation", headers=headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."
    denied = audit_rows(database, outcome="denied", id_user=elena)
    assert [(row.action, row.resource, row.id_student) for row in denied] == [
        ("read", "student", id_student)
    ]
    assert audit_rows(database, outcome="allowed", resource="student_access") == []
