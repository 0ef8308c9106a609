"""Caseloads as people see them (SPEC section 14): a student's page says who works with
the student and who is the primary contact; a staff member's page lists their programs
and their caseload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import Program, Student, User, UserProgram, UserStudent
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.web.test_admin_pages import CASE_MANAGER, COORDINATOR, DISTRICT_ADMIN, sign_in_demo
from tests.web.test_staff_pages import with_staff_pages


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


def _elena(database: Database) -> tuple[int, list[tuple[int, str, bool]]]:
    with database.session_scope() as session:
        id_user = session.scalar(select(User.id_user).where(User.email == demo_email(CASE_MANAGER)))
        assert id_user is not None
        rows = session.execute(
            select(Student.id_student, Student.identifier, UserStudent.is_primary)
            .join(UserStudent, UserStudent.id_student == Student.id_student)
            .where(UserStudent.id_user == id_user)
            .order_by(Student.id_student)
        ).all()
    return id_user, [(row[0], row[1] or "", bool(row[2])) for row in rows]


def test_a_students_page_says_who_works_with_the_student(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_user, caseload = _elena(database)
    id_student = caseload[0][0]
    with database.session_scope() as session:
        session.execute(
            UserStudent.__table__.update()
            .where(UserStudent.id_user == id_user, UserStudent.id_student == id_student)
            .values(is_primary=True)
        )
    sign_in_demo(pages, settings, COORDINATOR)
    page = pages.get(f"/students/{id_student}")
    assert page.status_code == 200
    section = page.text.split('id="assigned-heading"', 1)[1].split("</ul>", 1)[0]
    assert 'Elena Castillo <span class="tag">Primary contact</span>' in section


def test_a_staff_members_page_lists_programs_and_caseload(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_user, caseload = _elena(database)
    with database.session_scope() as session:
        program_names = set(
            session.scalars(
                select(Program.name)
                .join(UserProgram, UserProgram.id_program == Program.id_program)
                .where(UserProgram.id_user == id_user)
            )
        )
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    with count_statements(database.engine) as log:
        page = pages.get(f"/admin/users/{id_user}")
    assert page.status_code == 200
    programs_part = page.text.split('id="programs-heading"', 1)[1].split("</section>", 1)[0]
    for name in program_names:
        assert name in programs_part
    caseload_part = page.text.split('id="caseload-heading"', 1)[1].split("</section>", 1)[0]
    for id_student, identifier, _primary in caseload:
        assert f'href="/students/{id_student}">{identifier}</a>' in caseload_part
    # Two statements for the lists, whatever their length.
    assert log.count < 40
