"""Two districts for access tests: the demo district (A) and a small second one (B)
with its own administrator, coordinator, programs, memberships and student."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import AuditEvent, Program, SchoolDistrict, Student, UserProgram
from tests.fixtures import demo
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user, set_home_district

B_ADMIN = "noor.haddad@northgate.example"
B_COORDINATOR = "felix.arendt@northgate.example"
CREATED = datetime(2025, 7, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    staff: demo.DemoStaff
    district_a: int
    programs_a: list[int]
    district_b: int
    programs_b: list[int]
    admin_b: int
    coordinator_b: int
    membership_b: int
    student_b: int


def build(database: Database, settings: Settings) -> World:
    staff = demo.load(database, settings)
    admin_b = make_user(
        database, settings, email=B_ADMIN, name="Noor Haddad", role="district_admin"
    )
    coordinator_b = make_user(
        database, settings, email=B_COORDINATOR, name="Felix Arendt", role="program_coordinator"
    )
    with database.session_scope() as session:
        district_a = session.scalars(select(SchoolDistrict.id_school_district)).one()
        programs_a = list(
            session.scalars(
                select(Program.id_program)
                .where(Program.id_school_district == district_a)
                .order_by(Program.id_program)
            )
        )
        district_b = SchoolDistrict(
            name="Northgate County Schools", contact_email="office@northgate.example"
        )
        session.add(district_b)
        session.flush()
        programs = [
            Program(id_school_district=district_b.id_school_district, name=name, created_at=CREATED)
            for name in ("Northgate Learning Support", "Northgate Transition")
        ]
        session.add_all(programs)
        session.flush()
        memberships = [
            UserProgram(id_user=admin_b, id_program=programs[0].id_program, status="active"),
            UserProgram(id_user=admin_b, id_program=programs[1].id_program, status="active"),
            UserProgram(id_user=coordinator_b, id_program=programs[0].id_program, status="active"),
        ]
        session.add_all(memberships)
        # District B's staff are at home there (SPEC section 11).
        set_home_district(session, district_b.id_school_district, admin_b, coordinator_b)
        student = Student(
            id_program=programs[0].id_program,
            identifier="NG-0001",
            program_year=1,
            enrollment_date=date(2024, 8, 20),
        )
        session.add(student)
        session.flush()
        return World(
            staff=staff,
            district_a=district_a,
            programs_a=programs_a,
            district_b=district_b.id_school_district,
            programs_b=[program.id_program for program in programs],
            admin_b=admin_b,
            coordinator_b=coordinator_b,
            membership_b=memberships[2].id_user_program,
            student_b=student.id_student,
        )


def sign_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def demo_headers(client: TestClient, settings: Settings, name: str) -> dict[str, str]:
    return sign_in(client, demo_email(name), settings.demo_password)


def b_headers(client: TestClient, email: str = B_ADMIN) -> dict[str, str]:
    return sign_in(client, email, DEFAULT_PASSWORD)


# The demo's staff by role, as named in goalpath.demo.loader.STAFF.
SYSTEM_ADMIN = "Dana Whitfield"
DISTRICT_ADMIN = "Marcus Oyelaran"
COORDINATOR = "Priya Raman"
CASE_MANAGER = "Elena Castillo"
AUDITOR = "Victor Almeida"


def audit_rows(database: Database, resource: str, **where: object) -> list[AuditEvent]:
    """Allowed audit rows of a resource (denials are counted separately)."""
    with database.session_scope() as session:
        statement = select(AuditEvent).where(
            AuditEvent.resource == resource, AuditEvent.outcome == "allowed"
        )
        for column, value in where.items():
            statement = statement.where(getattr(AuditEvent, column) == value)
        rows = list(session.scalars(statement.order_by(AuditEvent.id_audit_event)))
        session.expunge_all()
        return rows


def fields_of(row: AuditEvent) -> list[str]:
    assert row.details is not None
    fields: list[str] = json.loads(row.details)["fields"]
    return fields


def count(database: Database, model: type, *where: object) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def snapshot(database: Database, model: type, *where: object) -> list[tuple[object, ...]]:
    """Every column of the matching rows, to show that a refused request changed nothing."""
    table = model.__table__  # type: ignore[attr-defined]
    with database.session_scope() as session:
        rows = session.execute(select(table).where(*where).order_by(*table.primary_key.columns))
        return [tuple(row) for row in rows]
