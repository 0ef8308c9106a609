"""/api/v1/students: scoped lists and filters, district-wide identifiers, no names,
audited reads, deletes that never orphan records."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, Goal, Student, UserStudent
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.students.support import (
    caseload,
    demo_programs,
    make_district,
    make_goals,
    make_student,
    sign_in,
)

URL = "/api/v1/students"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def all_ids(client: TestClient, headers: dict[str, str], query: str = "") -> list[int]:
    """Every id a list answers, page by page."""
    ids: list[int] = []
    cursor = None
    while True:
        params = f"?limit=7{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(URL + params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(item["id_student"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_case_manager_sees_only_her_caseload(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    mine = caseload(database, staff.first("case_manager"))
    ids = all_ids(client, headers)
    assert set(ids) == mine
    assert len(ids) == len(mine)
    assert ids == sorted(ids)
    with database.session_scope() as session:
        outside = session.scalar(
            select(func.min(Student.id_student)).where(Student.id_student.not_in(mine))
        )
    assert client.get(f"{URL}/{outside}", headers=headers).status_code == 404
    inside = min(mine)
    response = client.get(f"{URL}/{inside}", headers=headers)
    assert response.status_code == 200
    assert response.json()["id_student"] == inside
    assert "name" not in response.json()
    with database.session_scope() as session:
        reads = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.resource == "student",
                AuditEvent.action == "read",
                AuditEvent.record_id.in_([str(inside), str(outside)]),
            )
        ).all()
    assert sorted(reads) == ["allowed", "denied"]


def test_case_manager_cannot_create_students(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    program = demo_programs(database)[0]
    response = client.post(URL, json={"id_program": program, "identifier": "X"}, headers=headers)
    assert response.status_code == 403


def test_identifier_is_unique_within_the_district(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in(client, settings, "district_admin")
    first, second = demo_programs(database)[:2]
    created = client.post(
        URL,
        json={
            "id_program": first,
            "identifier": "RUSD-900001",
            "program_year": 2,
            "enrollment_date": "2025-08-20",
            "expected_grad": "2029-06-12",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["enrollment_date"] == "2025-08-20"
    for program, identifier in (
        (second, "RUSD-900001"),
        (first, "RUSD-900001"),
        (second, "rusd-900001"),
    ):
        duplicate = client.post(
            URL, json={"id_program": program, "identifier": identifier}, headers=admin
        )
        assert duplicate.status_code == 409, (program, identifier)
        assert "district" in duplicate.json()["detail"]
    # An existing demo identifier in another program of the district is refused too.
    with database.session_scope() as session:
        taken = session.scalar(select(Student.identifier).where(Student.id_program == second))
    assert (
        client.post(URL, json={"id_program": first, "identifier": taken}, headers=admin).status_code
        == 409
    )

    _district, other_program = make_district(database)
    # Another district may use the same identifier, but not through this administrator.
    refused = client.post(
        URL, json={"id_program": other_program, "identifier": "RUSD-900001"}, headers=admin
    )
    assert refused.status_code == 403
    system = sign_in(client, settings, "system_admin")
    elsewhere = client.post(
        URL, json={"id_program": other_program, "identifier": "RUSD-900001"}, headers=system
    )
    assert elsewhere.status_code == 201, elsewhere.text
    with database.session_scope() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Student).where(Student.identifier == "RUSD-900001")
            )
            == 2
        )
        details = session.scalar(
            select(AuditEvent.details).where(
                AuditEvent.action == "create",
                AuditEvent.resource == "student",
                AuditEvent.record_id == str(created.json()["id_student"]),
            )
        )
    assert details is not None
    assert "identifier" in details
    assert "RUSD-900001" not in details


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Ada Lovelace"},
        {"birth_date": "2012-03-04"},
        {"identifier": ""},
        {"identifier": "x" * 51},
        {"program_year": "2"},
        {"enrollment_date": "03/04/2025"},
        {"enrollment_date": 1700000000},
        {"enrollment_date": "2026-01-01", "expected_grad": "2025-06-01"},
        {"id_program": 2**40},
    ],
)
def test_invalid_students_are_refused(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    body: dict[str, object],
) -> None:
    admin = sign_in(client, settings, "district_admin")
    payload: dict[str, object] = {
        "id_program": demo_programs(database)[0],
        "identifier": "RUSD-1",
        **body,
    }
    response = client.post(URL, json=payload, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Student)) == 48


def test_unknown_program_is_a_validation_error(
    client: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    system = sign_in(client, settings, "system_admin")
    response = client.post(URL, json={"id_program": 999_999, "identifier": "Z"}, headers=system)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id_program"


def test_filters(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _district, program = make_district(database)
    for identifier in ("AB_1", "ABx1", "ab_2", "A%C", "AZ!1", "A!Z"):
        make_student(database, program, identifier)
    system = sign_in(client, settings, "system_admin")

    def identifiers(query: str) -> list[str]:
        response = client.get(f"{URL}?limit=200&id_program={program}&{query}", headers=system)
        assert response.status_code == 200, response.text
        return sorted(item["identifier"] for item in response.json()["items"])

    # Without regard to case, as identifiers are unique (SPEC 14); % and _ are literal.
    assert identifiers("identifier_prefix=AB_") == ["AB_1", "ab_2"]
    assert identifiers("identifier_prefix=AB") == ["AB_1", "ABx1", "ab_2"]
    assert identifiers("identifier_prefix=ab") == ["AB_1", "ABx1", "ab_2"]
    assert identifiers("identifier_prefix=abX") == ["ABx1"]
    assert identifiers("identifier_prefix=A%25") == ["A%C"]
    assert identifiers("identifier_prefix=A!") == ["A!Z"]
    assert identifiers("identifier_prefix=Q") == []
    assert len(identifiers("")) == 6

    demo_program = demo_programs(database)[1]
    with database.session_scope() as session:
        expected = set(
            session.scalars(
                select(Student.id_student).where(
                    Student.id_program == demo_program, Student.program_year == 2
                )
            )
        )
    assert expected
    assert set(all_ids(client, system, f"&id_program={demo_program}&program_year=2")) == expected

    with database.session_scope() as session:
        expected = set(
            session.scalars(
                select(Student.id_student).where(
                    Student.expected_grad >= date(2028, 1, 1),
                    Student.expected_grad <= date(2029, 12, 31),
                )
            )
        )
    got = all_ids(client, system, "&expected_grad_from=2028-01-01&expected_grad_to=2029-12-31")
    assert expected
    assert set(got) == expected
    inverted = client.get(
        f"{URL}?expected_grad_from=2029-01-01&expected_grad_to=2028-01-01", headers=system
    )
    assert inverted.status_code == 422


def test_update_student(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    first, second, third = demo_programs(database)[:3]
    coordinator = sign_in(client, settings, "program_coordinator")  # program 0 only
    with database.session_scope() as session:
        id_student, identifier = session.execute(
            select(Student.id_student, Student.identifier)
            .where(Student.id_program == first)
            .order_by(Student.id_student)
            .limit(1)
        ).one()
        taken = session.scalar(select(Student.identifier).where(Student.id_program == third))
    assert identifier is not None
    url = f"{URL}/{id_student}"
    assert client.patch(url, json={"identifier": taken}, headers=coordinator).status_code == 409
    moved = client.patch(url, json={"id_program": second}, headers=coordinator)
    assert moved.status_code == 403
    assert client.patch(url, json={"name": "Ada"}, headers=coordinator).status_code == 422
    assert client.patch(url, json={"identifier": None}, headers=coordinator).status_code == 422
    changed = client.patch(
        url, json={"identifier": identifier + "-B", "program_year": None}, headers=coordinator
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["identifier"] == identifier + "-B"
    assert changed.json()["program_year"] is None
    # Its own identifier is no conflict with itself.
    same = client.patch(url, json={"identifier": identifier + "-b"}, headers=coordinator)
    assert same.status_code == 200
    with database.session_scope() as session:
        details = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "update", AuditEvent.record_id == str(id_student)
            )
        ).all()
    assert '{"fields": ["identifier", "program_year"]}' in details

    admin = sign_in(client, settings, "district_admin")
    across = client.patch(url, json={"id_program": second}, headers=admin)
    assert across.status_code == 200
    assert across.json()["id_program"] == second
    case_manager = sign_in(client, settings, "case_manager")
    mine = min(caseload(database, staff.first("case_manager")))
    assert (
        client.patch(f"{URL}/{mine}", json={"program_year": 3}, headers=case_manager).status_code
        == 403
    )


def test_delete_refuses_students_with_records(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in(client, settings, "district_admin")
    first = demo_programs(database)[0]
    with database.session_scope() as session:
        with_records = session.scalar(
            select(Goal.id_student).where(Goal.id_student.is_not(None)).limit(1)
        )
    refused = client.delete(f"{URL}/{with_records}", headers=admin)
    assert refused.status_code == 409
    assert "goals" in refused.json()["detail"]
    assert "progress events" in refused.json()["detail"]

    assigned = make_student(database, first, "RUSD-ASSIGNED")
    with database.session_scope() as session:
        session.add(UserStudent(id_user=staff.first("case_manager"), id_student=assigned))
    refused = client.delete(f"{URL}/{assigned}", headers=admin)
    assert refused.status_code == 409
    assert "staff assignments" in refused.json()["detail"]

    with_goal = make_student(database, first, "RUSD-GOAL")
    make_goals(database, with_goal, 1)
    assert client.delete(f"{URL}/{with_goal}", headers=admin).status_code == 409

    coordinator = sign_in(client, settings, "program_coordinator")
    empty = make_student(database, first, "RUSD-EMPTY")
    assert client.delete(f"{URL}/{empty}", headers=coordinator).status_code == 403
    assert client.delete(f"{URL}/{empty}", headers=admin).status_code == 204
    assert client.get(f"{URL}/{empty}", headers=admin).status_code == 404
    with database.session_scope() as session:
        assert session.get(Student, with_records) is not None
        assert session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "delete", AuditEvent.record_id == str(empty))
        )


def test_students_outside_every_scope_are_404_not_500(
    client: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in(client, settings, "district_admin")
    for path in (f"{URL}/999999", f"{URL}/{2**31 - 1}"):
        assert client.get(path, headers=admin).status_code == 404
        assert client.patch(path, json={"program_year": 1}, headers=admin).status_code == 404
        assert client.delete(path, headers=admin).status_code == 404
    assert client.get(f"{URL}/{2**40}", headers=admin).status_code == 422
    assert client.get(f"{URL}?cursor=not-a-cursor", headers=admin).status_code == 422


def test_list_issues_a_fixed_number_of_statements(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    counts = []
    visible = {
        "case_manager": len(caseload(database, staff.first("case_manager"))),
        "district_admin": 48,
    }
    for role, total in visible.items():
        headers = sign_in(client, settings, role)
        for limit in (1, 50):
            with count_statements(database.engine) as log:
                response = client.get(
                    f"{URL}?limit={limit}&identifier_prefix=RUSD", headers=headers
                )
            assert response.status_code == 200
            assert len(response.json()["items"]) == min(limit, total)
            counts.append(log.count)
    assert counts[0] == counts[1]
    assert counts[2] == counts[3]
