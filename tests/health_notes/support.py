"""Helpers for the health-note and progress-event tests: sign-in, demo look-ups, and a
second district beside the demo one for cross-district (IDOR) checks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import (
    AuditEvent,
    HealthNote,
    Program,
    SchoolDistrict,
    Student,
    UserProgram,
    UserStudent,
)
from tests.fixtures.demo import DemoStaff
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user, set_home_district

API = "/api/v1"


def sign_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def headers_for(
    client: TestClient, settings: Settings, staff: DemoStaff, role: str, index: int = 0
) -> dict[str, str]:
    id_user = staff.by_role[role][index]
    email = next(email for email, i in staff.by_email.items() if i == id_user)
    return sign_in(client, email, settings.demo_password)


def assigned(database: Database, id_user: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(UserStudent.id_student)
                .where(UserStudent.id_user == id_user)
                .order_by(UserStudent.id_student)
            )
        )


def shared_student(database: Database, *id_users: int) -> int:
    """A student every one of the users is assigned to (write access)."""
    common = set(assigned(database, id_users[0]))
    for id_user in id_users[1:]:
        common &= set(assigned(database, id_user))
    assert common, "the demo district should give these users a common student"
    return min(common)


def program_students(database: Database, id_user: int) -> list[int]:
    """Students of the programs the user is a member of."""
    with database.session_scope() as session:
        programs = select(UserProgram.id_program).where(UserProgram.id_user == id_user)
        return list(
            session.scalars(
                select(Student.id_student)
                .where(Student.id_program.in_(programs))
                .order_by(Student.id_student)
            )
        )


def audit_rows(database: Database, **where: Any) -> list[AuditEvent]:
    with database.session_scope() as session:
        statement = select(AuditEvent).order_by(AuditEvent.id_audit_event)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEvent, name) == value)
        rows = list(session.scalars(statement))
        session.expunge_all()
        return rows


def note_ids(database: Database, id_student: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(HealthNote.id_health_note)
                .where(HealthNote.id_student == id_student)
                .order_by(HealthNote.id_health_note.desc())
            )
        )


def forged_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class OtherDistrict:
    id_student: int
    id_counselor: int
    counselor_email: str


def other_district(database: Database, settings: Settings) -> OtherDistrict:
    """Hillcrest: one program, one student and a counselor assigned to it. Load the demo
    district first: its loader refuses a database that already holds other data."""
    counselor_email = "imani.rowe@hillcrest.example"
    id_counselor = make_user(
        database, settings, email=counselor_email, name="Imani Rowe", role="counselor"
    )
    with database.session_scope() as session:
        district = SchoolDistrict(
            name="Hillcrest Unified", contact_email="office@hillcrest.example"
        )
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Hillcrest Wellness")
        session.add(program)
        session.flush()
        student = Student(id_program=program.id_program, identifier="HC-0001", program_year=1)
        session.add(student)
        session.flush()
        set_home_district(session, district.id_school_district, id_counselor)
        session.add(
            UserProgram(
                id_user=id_counselor,
                id_program=program.id_program,
                is_primary=True,
                status="active",
            )
        )
        session.add(
            UserStudent(
                id_user=id_counselor,
                id_student=student.id_student,
                access_level="write",
                is_primary=True,
            )
        )
        return OtherDistrict(
            id_student=student.id_student,
            id_counselor=id_counselor,
            counselor_email=counselor_email,
        )


def sign_in_other(client: TestClient, email: str) -> dict[str, str]:
    return sign_in(client, email, DEFAULT_PASSWORD)
