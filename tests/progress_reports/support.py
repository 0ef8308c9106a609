"""Helpers for the progress report tests: sign-in as a demo role, a second district
for cross-district (IDOR) checks, and small typed factories for the records a report
is drafted from."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import DEMO_DOMAIN, STAFF, demo_email
from goalpath.models import (
    Goal,
    Program,
    ProgressEvent,
    ProgressReport,
    SchoolDistrict,
    Student,
    UserStudent,
)

API = "/api/v1"
# Text no demo note contains: if it shows up anywhere, a sensitive event leaked.
SENSITIVE_MARKER = "Confidential disclosure KESTREL-4471 about the family"


def staff_name(role: str, index: int = 0) -> str:
    return [member.name for member in STAFF if member.role == role][index]


def sign_in(client: TestClient, settings: Settings, role: str, index: int = 0) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/login",
        json={"email": demo_email(staff_name(role, index)), "password": settings.demo_password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def demo_programs(database: Database) -> list[int]:
    """The demo district's programs, in the loader's order."""
    with database.session_scope() as session:
        return list(session.scalars(select(Program.id_program).order_by(Program.id_program)))


def demo_district(database: Database) -> int:
    with database.session_scope() as session:
        found = session.scalar(
            select(SchoolDistrict.id_school_district).order_by(SchoolDistrict.id_school_district)
        )
        assert found is not None
        return found


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


def make_program(database: Database, id_school_district: int, name: str) -> int:
    with database.session_scope() as session:
        program = Program(id_school_district=id_school_district, name=name)
        session.add(program)
        session.flush()
        return program.id_program


def make_student(database: Database, id_program: int, identifier: str) -> int:
    with database.session_scope() as session:
        student = Student(id_program=id_program, identifier=identifier, program_year=1)
        session.add(student)
        session.flush()
        return student.id_student


def make_goal(
    database: Database, id_student: int, title: str, *, id_goal_parent: int | None = None
) -> int:
    now = datetime.now(UTC)
    with database.session_scope() as session:
        goal = Goal(
            id_student=id_student,
            id_goal_parent=id_goal_parent,
            title=title,
            created_at=now,
            updated_at=now,
        )
        session.add(goal)
        session.flush()
        return goal.id_goal


def make_event(
    database: Database,
    id_student: int,
    id_goal: int,
    content: str,
    created_at: datetime,
    *,
    sensitive: bool = False,
    id_user_created: int | None = None,
) -> int:
    with database.session_scope() as session:
        event = ProgressEvent(
            id_student=id_student,
            id_goal=id_goal,
            id_user_created=id_user_created,
            content=content,
            is_sensitive=sensitive,
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(event)
        session.flush()
        return event.id_progress_event


def make_report(
    database: Database,
    id_student: int,
    id_goal: int,
    period: str,
    year: int,
    summary: str = "A drafted summary.",
    *,
    finalized_at: datetime | None = None,
) -> int:
    with database.session_scope() as session:
        report = ProgressReport(
            id_student=id_student,
            id_goal=id_goal,
            period=period,
            year=year,
            summary=summary,
            generated_at=at(2026, 1, 5),
            finalized_at=finalized_at,
        )
        session.add(report)
        session.flush()
        return report.id_progress_report


def populate_program(database: Database, id_program: int, students: int, prefix: str) -> list[int]:
    """`students` students, each with a root goal, a sub-goal and an event on each in
    Q1 2026 (rows written in bulk, so a program of 30 costs what one of 3 does)."""
    ids: list[int] = []
    now = datetime.now(UTC)
    with database.session_scope() as session:
        for index in range(students):
            student = Student(id_program=id_program, identifier=f"{prefix}-{index:03d}")
            session.add(student)
            session.flush()
            root = Goal(id_student=student.id_student, title="Reading", created_at=now)
            session.add(root)
            session.flush()
            sub = Goal(
                id_student=student.id_student,
                id_goal_parent=root.id_goal,
                title="Decoding",
                created_at=now,
            )
            session.add(sub)
            session.flush()
            session.execute(
                insert(ProgressEvent),
                [
                    {
                        "id_student": student.id_student,
                        "id_goal": goal,
                        "content": f"Session note {index} on goal {goal}.",
                        "is_sensitive": False,
                        "created_at": at(2026, 9, 2 + day),
                        "updated_at": at(2026, 9, 2 + day),
                    }
                    for day, goal in enumerate((root.id_goal, sub.id_goal))
                ],
            )
            ids.append(student.id_student)
    return ids


def assign(database: Database, id_user: int, id_student: int, access_level: str = "write") -> None:
    with database.session_scope() as session:
        session.add(UserStudent(id_user=id_user, id_student=id_student, access_level=access_level))


def caseload(database: Database, id_user: int) -> set[int]:
    with database.session_scope() as session:
        return set(
            session.scalars(select(UserStudent.id_student).where(UserStudent.id_user == id_user))
        )


def students_of(database: Database, id_program: int) -> set[int]:
    with database.session_scope() as session:
        return set(
            session.scalars(select(Student.id_student).where(Student.id_program == id_program))
        )


def root_goals_of(database: Database, students: set[int]) -> set[int]:
    with database.session_scope() as session:
        return set(
            session.scalars(
                select(Goal.id_goal).where(
                    Goal.id_student.in_(students), Goal.id_goal_parent.is_(None)
                )
            )
        )
