"""The constraints SPEC section 2 adds to the seed hold in the database itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goalpath.db import Database
from goalpath.models import (
    Goal,
    Permission,
    Program,
    ProgressReport,
    Role,
    RolePermission,
    SchoolDistrict,
    Student,
    User,
    UserStudent,
)

NOW = datetime(2026, 9, 1, 12, tzinfo=UTC)


@pytest.fixture
def world(database: Database, reference_baseline: dict[str, int]) -> dict[str, int]:
    with database.session_scope() as session:
        district = SchoolDistrict(name="Lakeside", contact_email="office@lakeside.example")
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Reading")
        session.add(program)
        session.flush()
        students = [Student(id_program=program.id_program, identifier=f"S-{n}") for n in (1, 2)]
        user = User(email="teacher@lakeside.example", name="Tess Teacher")
        session.add_all([*students, user])
        session.flush()
        goal = Goal(id_student=students[0].id_student, title="Read", created_at=NOW)
        session.add(goal)
        session.flush()
        return {
            "program": program.id_program,
            "student_a": students[0].id_student,
            "student_b": students[1].id_student,
            "user": user.id_user,
            "goal_a": goal.id_goal,
        }


def _refused(database: Database, change: Callable[[Session], None]) -> None:
    with pytest.raises(IntegrityError), database.session_scope() as session:
        change(session)
        session.flush()


def test_email_is_unique_whatever_its_case(database: Database, world: dict[str, int]) -> None:
    _refused(database, lambda s: s.add(User(email="teacher@lakeside.example", name="Twin")))
    # Emails are stored lower-cased; the database refuses any other spelling.
    _refused(database, lambda s: s.add(User(email="Teacher@Lakeside.example", name="Twin")))


def test_role_name_is_unique(database: Database, world: dict[str, int]) -> None:
    _refused(database, lambda s: s.add(Role(name="counselor")))


def test_permission_triple_is_unique(database: Database, world: dict[str, int]) -> None:
    _refused(
        database,
        lambda s: s.add(Permission(resource="goal", action="read", scope="assigned")),
    )


def test_role_permission_pair_is_unique(database: Database, world: dict[str, int]) -> None:
    with database.session_scope() as session:
        link = session.query(RolePermission).first()
        assert link is not None
        pair = (link.id_role, link.id_permission)
    _refused(database, lambda s: s.add(RolePermission(id_role=pair[0], id_permission=pair[1])))


def test_user_student_pair_is_unique(database: Database, world: dict[str, int]) -> None:
    with database.session_scope() as session:
        session.add(UserStudent(id_user=world["user"], id_student=world["student_a"]))
    _refused(
        database,
        lambda s: s.add(UserStudent(id_user=world["user"], id_student=world["student_a"])),
    )


def test_identifier_is_unique_within_a_program(database: Database, world: dict[str, int]) -> None:
    _refused(database, lambda s: s.add(Student(id_program=world["program"], identifier="S-1")))


def test_one_report_per_goal_and_period(database: Database, world: dict[str, int]) -> None:
    row = {
        "id_student": world["student_a"],
        "id_goal": world["goal_a"],
        "period": "Q1",
        "year": 2026,
    }
    with database.session_scope() as session:
        session.execute(insert(ProgressReport), [row])
    _refused(database, lambda s: s.add(ProgressReport(**row)))


def test_goal_parent_must_belong_to_the_same_student(
    database: Database, world: dict[str, int]
) -> None:
    _refused(
        database,
        lambda s: s.add(
            Goal(id_student=world["student_b"], id_goal_parent=world["goal_a"], title="x")
        ),
    )
    with database.session_scope() as session:
        session.add(Goal(id_student=world["student_a"], id_goal_parent=world["goal_a"], title="y"))


def test_foreign_keys_are_enforced(database: Database, world: dict[str, int]) -> None:
    _refused(database, lambda s: s.add(Student(id_program=999_999, identifier="ghost")))


def test_not_null_columns_of_the_seed(database: Database, world: dict[str, int]) -> None:
    from goalpath.models import PasswordHistory

    _refused(database, lambda s: s.add(PasswordHistory(id_user=world["user"])))
