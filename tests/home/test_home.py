"""The home page is each person's day (SPEC section 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import Goal, ProgressEvent, Student, User, UserStudent
from goalpath.models.base import utcnow
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.web.test_staff_pages import (
    AUDITOR,
    CASE_MANAGER,
    COORDINATOR,
    COUNSELOR,
    sign_in,
    with_staff_pages,
)

CARD = re.compile(r'<h3 id="student-(\d+)"><a href="/students/\d+">([^<]+)</a></h3>')


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


def _caseload(database: Database, name: str) -> tuple[int, set[int]]:
    with database.session_scope() as session:
        id_user = session.scalar(select(User.id_user).where(User.email == demo_email(name)))
        assert id_user is not None
        students = set(
            session.scalars(select(UserStudent.id_student).where(UserStudent.id_user == id_user))
        )
    return id_user, {value for value in students if value is not None}


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def test_a_case_manager_sees_her_caseload_first(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _id_user, caseload = _caseload(database, CASE_MANAGER)
    assert caseload
    sign_in(pages, settings, CASE_MANAGER)
    response = pages.get("/")
    assert response.status_code == 200
    html = response.text
    assert "will be listed here" not in html
    listed = {int(found) for found, _identifier in CARD.findall(_section(html, "caseload"))}
    assert listed == caseload
    # Each card lists the student's goals with the last progress logged on each.
    with database.session_scope() as session:
        goal = session.execute(
            select(Goal.id_goal, Goal.title).where(
                Goal.id_student.in_(caseload), Goal.id_goal_parent.is_(None)
            )
        ).first()
    assert goal is not None
    assert f'href="/goals/{goal.id_goal}"' in html
    assert "Needs your attention" in html


def test_students_idle_for_two_weeks_are_named(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _id_user, caseload = _caseload(database, CASE_MANAGER)
    quiet, busy = sorted(caseload)[:2]
    with database.session_scope() as session:
        session.execute(delete(ProgressEvent).where(ProgressEvent.id_student == quiet))
        goal = session.scalar(select(Goal.id_goal).where(Goal.id_student == busy))
        session.add(
            ProgressEvent(
                id_student=busy,
                id_goal=goal,
                content="Read 31 words correct per minute.",
                is_sensitive=False,
                created_at=utcnow() - timedelta(days=1),
            )
        )
        identifiers = dict(
            session.execute(
                select(Student.id_student, Student.identifier).where(
                    Student.id_student.in_([quiet, busy])
                )
            ).all()
        )
    sign_in(pages, settings, CASE_MANAGER)
    html = pages.get("/").text
    summary = _section(html, "attention")
    idle_line = next(item for item in summary.split("<li>") if "no progress logged" in item)
    assert identifiers[quiet] in idle_line
    assert identifiers[busy] not in idle_line
    assert "(yesterday)" in html


def test_every_role_has_a_day_and_a_menu(
    pages: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    for name, expected in (
        (CASE_MANAGER, ["Today", "My students", "Reports"]),
        (COUNSELOR, ["Today", "My students", "Reports"]),
        (COORDINATOR, ["Today", "My students", "Reports", "Programs", "Caseloads"]),
        (AUDITOR, ["Today", "Audit trail"]),
    ):
        sign_in(pages, settings, name)
        response = pages.get("/")
        assert response.status_code == 200, name
        menu = re.search(r'<nav aria-label="Main"[^>]*>(.*?)</nav>', response.text, re.S)
        assert menu, name
        labels = re.findall(r"<a [^>]*>([^<]+)</a>", menu.group(1))
        for label in expected:
            assert label in labels, (name, label, labels)
    sign_in(pages, settings, AUDITOR)
    html = pages.get("/").text
    assert 'href="/audit-events"' in _section(html, "work")


def test_the_home_page_issues_as_many_statements_for_a_long_caseload(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_user, caseload = _caseload(database, CASE_MANAGER)
    sign_in(pages, settings, CASE_MANAGER)
    pages.get("/")
    with count_statements(database.engine) as short:
        assert pages.get("/").status_code == 200
    with database.session_scope() as session:
        program = session.scalar(
            select(Student.id_program).where(Student.id_student == min(caseload))
        )
        for number in range(30):
            student = Student(identifier=f"HOME-{number:03d}", id_program=program)
            session.add(student)
            session.flush()
            session.add(
                UserStudent(
                    id_user=id_user,
                    id_student=student.id_student,
                    access_level="write",
                    is_primary=False,
                )
            )
            goal = Goal(id_student=student.id_student, title=f"Goal {number}")
            session.add(goal)
            session.flush()
            session.add(
                ProgressEvent(
                    id_student=student.id_student,
                    id_goal=goal.id_goal,
                    content="Logged.",
                    is_sensitive=False,
                )
            )
    with count_statements(database.engine) as long:
        response = pages.get("/")
    assert response.status_code == 200
    assert len(CARD.findall(_section(response.text, "caseload"))) == len(caseload) + 30
    assert long.count == short.count
