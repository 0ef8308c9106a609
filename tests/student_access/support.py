"""Helpers for the student access and audit tests: sign-in, demo look-ups, and a
second district next to the demo one for cross-district (IDOR) checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, Program, SchoolDistrict, Student, UserProgram, UserStudent
from tests.fixtures.demo import DemoStaff
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user, set_home_district

API = "/api/v1"


def sign_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def demo_headers(
    client: TestClient, settings: Settings, staff: DemoStaff, id_user: int
) -> dict[str, str]:
    email = next(email for email, i in staff.by_email.items() if i == id_user)
    return sign_in(client, email, settings.demo_password)


def caseload(database: Database, id_user: int) -> list[UserStudent]:
    with database.session_scope() as session:
        links = list(
            session.scalars(
                select(UserStudent)
                .where(UserStudent.id_user == id_user)
                .order_by(UserStudent.id_user_student)
            )
        )
        session.expunge_all()
        return links


def students_of_program(database: Database, id_user_member: int, position: int = 0) -> list[int]:
    """Students of the `position`-th program (by id) the user is a member of."""
    with database.session_scope() as session:
        programs = list(
            session.scalars(
                select(UserProgram.id_program)
                .where(UserProgram.id_user == id_user_member)
                .order_by(UserProgram.id_program)
            )
        )
        return list(
            session.scalars(
                select(Student.id_student)
                .where(Student.id_program == programs[position])
                .order_by(Student.id_student)
            )
        )


def links_of_student(
    database: Database, id_student: int
) -> list[tuple[int, int | None, str | None]]:
    with database.session_scope() as session:
        return [
            (row.id_user_student, row.id_user, row.access_level)
            for row in session.scalars(
                select(UserStudent)
                .where(UserStudent.id_student == id_student)
                .order_by(UserStudent.id_user_student)
            )
        ]


def audit_rows(database: Database, **where: Any) -> list[AuditEvent]:
    with database.session_scope() as session:
        statement = select(AuditEvent).order_by(AuditEvent.id_audit_event)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEvent, name) == value)
        rows = list(session.scalars(statement))
        session.expunge_all()
        return rows


@dataclass(frozen=True)
class OtherDistrict:
    id_school_district: int
    id_program: int
    id_students: list[int]
    id_admin: int
    id_case_manager: int
    id_auditor: int
    id_user_student: int
    admin_email: str
    case_manager_email: str
    auditor_email: str


def other_district(database: Database, settings: Settings) -> OtherDistrict:
    """Hillcrest: one program, three students, an administrator, a case manager
    assigned to the first student, and an auditor. Load the demo district first: the
    demo loader refuses a database that already holds other data."""
    admin_email = "riley.chen@hillcrest.example"
    case_manager_email = "noor.haddad@hillcrest.example"
    auditor_email = "owen.price@hillcrest.example"
    id_admin = make_user(
        database, settings, email=admin_email, name="Riley Chen", role="district_admin"
    )
    id_case_manager = make_user(
        database, settings, email=case_manager_email, name="Noor Haddad", role="case_manager"
    )
    id_auditor = make_user(
        database, settings, email=auditor_email, name="Owen Price", role="auditor"
    )
    with database.session_scope() as session:
        district = SchoolDistrict(
            name="Hillcrest Unified", contact_email="office@hillcrest.example"
        )
        session.add(district)
        session.flush()
        program = Program(
            id_school_district=district.id_school_district, name="Hillcrest Special Education"
        )
        session.add(program)
        session.flush()
        students = [
            Student(id_program=program.id_program, identifier=f"HC-{900 + n}", program_year=1)
            for n in range(3)
        ]
        session.add_all(students)
        set_home_district(
            session, district.id_school_district, id_admin, id_case_manager, id_auditor
        )
        for id_user in (id_admin, id_case_manager, id_auditor):
            session.add(
                UserProgram(
                    id_user=id_user, id_program=program.id_program, is_primary=True, status="active"
                )
            )
        session.flush()
        link = UserStudent(
            id_user=id_case_manager,
            id_student=students[0].id_student,
            access_level="write",
            is_primary=True,
        )
        session.add(link)
        session.flush()
        return OtherDistrict(
            id_school_district=district.id_school_district,
            id_program=program.id_program,
            id_students=[student.id_student for student in students],
            id_admin=id_admin,
            id_case_manager=id_case_manager,
            id_auditor=id_auditor,
            id_user_student=link.id_user_student,
            admin_email=admin_email,
            case_manager_email=case_manager_email,
            auditor_email=auditor_email,
        )


def sign_in_other(client: TestClient, email: str) -> dict[str, str]:
    return sign_in(client, email, DEFAULT_PASSWORD)
