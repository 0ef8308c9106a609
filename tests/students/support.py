"""Helpers for the student and goal tests: sign-in as a demo role, a second district,
and small typed factories for students and goals."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import DEMO_DOMAIN, STAFF, demo_email
from goalpath.models import Goal, Program, SchoolDistrict, Student, UserStudent
from goalpath.models.base import utcnow


def staff_name(role: str, index: int = 0) -> str:
    return [member.name for member in STAFF if member.role == role][index]


def sign_in(client: TestClient, settings: Settings, role: str, index: int = 0) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": demo_email(staff_name(role, index)), "password": settings.demo_password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def demo_programs(database: Database) -> list[int]:
    """The demo district's programs, in the loader's order."""
    with database.session_scope() as session:
        return list(session.scalars(select(Program.id_program).order_by(Program.id_program)))


def make_district(database: Database, name: str = "Lakeside County Schools") -> tuple[int, int]:
    """A second district with one program; answers (id_school_district, id_program)."""
    with database.session_scope() as session:
        district = SchoolDistrict(name=name, contact_email=f"office@{DEMO_DOMAIN}")
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Resource Room")
        session.add(program)
        session.flush()
        return district.id_school_district, program.id_program


def make_student(database: Database, id_program: int, identifier: str) -> int:
    with database.session_scope() as session:
        student = Student(id_program=id_program, identifier=identifier, program_year=1)
        session.add(student)
        session.flush()
        return student.id_student


def make_goals(
    database: Database, id_student: int, count: int, *, chain: bool = False
) -> list[int]:
    """`count` goals of one student: siblings, or with `chain` each the parent of the
    next (one flush per goal, since each needs its parent's id)."""
    ids: list[int] = []
    now = utcnow()
    with database.session_scope() as session:
        for index in range(count):
            goal = Goal(
                id_student=id_student,
                id_goal_parent=ids[-1] if chain and ids else None,
                title=f"Goal {index}",
                created_at=now,
                updated_at=now,
            )
            session.add(goal)
            session.flush()
            ids.append(goal.id_goal)
    return ids


def caseload(database: Database, id_user: int) -> set[int]:
    with database.session_scope() as session:
        return set(
            session.scalars(select(UserStudent.id_student).where(UserStudent.id_user == id_user))
        )


@contextmanager
def deep_json() -> Iterator[None]:
    """json.loads recurses once per nesting level; a 1,000-deep tree needs more room
    than the default limit, for the test's parsing only."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 20_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)
