"""Small helpers for the account and role tests: sign-in, a second district, audit rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import AuditEvent, Program, Role, SchoolDistrict, UserProgram
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user

# Demo staff by role (goalpath.demo.loader.STAFF).
SYSTEM_ADMIN = "Dana Whitfield"
DISTRICT_ADMIN = "Marcus Oyelaran"
COORDINATOR = "Priya Raman"
CASE_MANAGER = "Elena Castillo"
COUNSELOR = "Grace Okafor"
AUDITOR = "Victor Almeida"
# A password that meets the policy and names nobody in these tests.
GOOD_PASSWORD = "copper-meadow-violin-5520"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


def sign_in_demo(client: TestClient, settings: Settings, name: str) -> dict[str, str]:
    return sign_in(client, demo_email(name), settings.demo_password)


def role_id(database: Database, name: str) -> int:
    with database.session_scope() as session:
        id_role = session.scalar(select(Role.id_role).where(Role.name == name))
    assert id_role is not None, name
    return id_role


@dataclass(frozen=True)
class District:
    id_school_district: int
    id_program: int
    admin: int
    case_manager: int


def second_district(database: Database, settings: Settings) -> District:
    """District B: one program, an administrator and a case manager placed only there."""
    admin = make_user(
        database,
        settings,
        email="noor.haddad@northfield.example",
        name="Noor Haddad",
        role="district_admin",
    )
    case_manager = make_user(
        database,
        settings,
        email="owen.price@northfield.example",
        name="Owen Price",
        role="case_manager",
    )
    with database.session_scope() as session:
        district = SchoolDistrict(name="Northfield Public Schools")
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Northfield SPED")
        session.add(program)
        session.flush()
        for id_user in (admin, case_manager):
            session.add(UserProgram(id_user=id_user, id_program=program.id_program))
        return District(district.id_school_district, program.id_program, admin, case_manager)


def last_audit_id(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.coalesce(func.max(AuditEvent.id_audit_event), 0))))


def audit_rows(database: Database, after: int = 0, **where: Any) -> list[dict[str, Any]]:
    """Audit rows written after id `after` that match every `column=value` given, oldest
    first, details decoded."""
    with database.session_scope() as session:
        statement = (
            select(AuditEvent)
            .where(AuditEvent.id_audit_event > after)
            .order_by(AuditEvent.id_audit_event)
        )
        for column, value in where.items():
            statement = statement.where(getattr(AuditEvent, column) == value)
        rows = []
        for event in session.scalars(statement):
            row = {
                column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns
            }
            row["details"] = json.loads(event.details) if event.details else {}
            rows.append(row)
        return rows
