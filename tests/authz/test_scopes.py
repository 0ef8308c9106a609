"""Scopes in SQL on the demo district: each role sees exactly its records."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import (
    HealthNote,
    Program,
    ProgressEvent,
    Student,
    UserProgram,
    UserStudent,
)
from tests.fixtures import demo


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def count(session, authz, model, resource: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        session.scalar(select(func.count()).select_from(model).where(authz.readable(resource)))
    )


def test_case_manager_sees_exactly_her_caseload(database: Database, staff: demo.DemoStaff) -> None:
    id_user = staff.first("case_manager")
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, id_user)
        visible = set(session.scalars(select(Student.id_student).where(authz.readable("student"))))
        caseload = set(
            session.scalars(select(UserStudent.id_student).where(UserStudent.id_user == id_user))
        )
        assert visible == caseload
        assert visible
        assert count(session, authz, HealthNote, "health_note") == 0
        sensitive = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(authz.readable("progress_event"), ProgressEvent.is_sensitive.is_(True))
        )
        assert sensitive == 0


def test_counselor_reads_health_notes_of_assigned_students_only(
    database: Database, staff: demo.DemoStaff
) -> None:
    id_user = staff.first("counselor")
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, id_user)
        assigned = select(UserStudent.id_student).where(UserStudent.id_user == id_user)
        expected_notes = session.scalar(
            select(func.count()).select_from(HealthNote).where(HealthNote.id_student.in_(assigned))
        )
        assert count(session, authz, HealthNote, "health_note") == expected_notes
        sensitive = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(authz.readable("progress_event"), ProgressEvent.is_sensitive.is_(True))
        )
        expected_sensitive = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(ProgressEvent.is_sensitive.is_(True), ProgressEvent.id_student.in_(assigned))
        )
        assert sensitive == expected_sensitive


def test_nurse_and_coordinator_see_their_programs(
    database: Database, staff: demo.DemoStaff
) -> None:
    for role in ("nurse", "program_coordinator"):
        id_user = staff.first(role)
        with database.session_scope() as session:
            authz = demo.authorizer_for(database, session, id_user)
            programs = select(UserProgram.id_program).where(UserProgram.id_user == id_user)
            expected = session.scalar(
                select(func.count()).select_from(Student).where(Student.id_program.in_(programs))
            )
            assert count(session, authz, Student, "student") == expected


def test_district_roles_see_the_district(database: Database, staff: demo.DemoStaff) -> None:
    for role in ("district_admin", "auditor", "system_admin"):
        with database.session_scope() as session:
            authz = demo.authorizer_for(database, session, staff.first(role))
            assert count(session, authz, Student, "student") == 48, role
            assert count(session, authz, Program, "program") == 4, role


def test_no_role_means_no_rows(
    database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    from tests.fixtures.factories import make_user

    id_user = make_user(
        database, settings, email="nobody@lakeside.example", name="No Role", role=None
    )
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, id_user)
        assert count(session, authz, Student, "student") == 0
        assert count(session, authz, Program, "program") == 0


def test_read_only_assignment_allows_reads_not_writes(
    database: Database, staff: demo.DemoStaff
) -> None:
    id_user = staff.first("case_manager")
    with database.session_scope() as session:
        link = session.scalars(select(UserStudent).where(UserStudent.id_user == id_user)).first()
        assert link is not None and link.id_student is not None
        link.access_level = "read"
        id_student = link.id_student
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, id_user)
        assert authz.can_on_student("goal", "read", id_student)
        assert not authz.can_on_student("goal", "create", id_student)
        assert not authz.can_on_student("progress_event", "create", id_student)
