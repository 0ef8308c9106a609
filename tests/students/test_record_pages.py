"""Students are added and corrected in the pages by those who may (SPEC section 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Program, Student
from tests.fixtures import demo
from tests.web.test_admin_pages import count, post, sign_in_demo
from tests.web.test_staff_pages import CASE_MANAGER, COORDINATOR, with_staff_pages


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


def _program_of_coordinator(pages: TestClient) -> str:
    form = pages.get("/students/new")
    assert form.status_code == 200
    options = re.findall(r'<option value="(\d+)"', form.text)
    assert options
    return options[0]


def test_a_coordinator_adds_and_corrects_a_student(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, COORDINATOR)
    assert 'href="/students/new"' in pages.get("/students").text
    program = _program_of_coordinator(pages)
    added = post(
        pages,
        "/students",
        {
            "identifier": "RUSD-200777",
            "id_program": program,
            "program_year": "1",
            "enrollment_date": "2026-08-20",
            "expected_grad": "",
        },
    )
    assert added.status_code == 303, added.text
    location = added.headers["location"]
    assert "Student RUSD-200777 has been added." in pages.get(location).text
    id_student = int(location.rsplit("/", 1)[1])

    edit = pages.get(f"/students/{id_student}/edit")
    assert edit.status_code == 200
    assert 'value="RUSD-200777"' in edit.text
    saved = post(
        pages,
        f"/students/{id_student}/edit",
        {
            "identifier": "RUSD-200778",
            "id_program": program,
            "program_year": "2",
            "enrollment_date": "2026-08-20",
            "expected_grad": "2030-06-15",
        },
    )
    assert saved.status_code == 303, saved.text
    with database.session_scope() as session:
        student = session.get(Student, id_student)
        assert student is not None
        assert (student.identifier, student.program_year) == ("RUSD-200778", 2)
        assert student.expected_grad is not None


def test_bad_student_forms_are_refused_in_words_and_change_nothing(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, COORDINATOR)
    program = _program_of_coordinator(pages)
    with database.session_scope() as session:
        taken = session.scalar(select(Student.identifier).where(Student.id_program == int(program)))
    before = count(database, Student)
    for data, message in (
        ({"identifier": "", "id_program": program}, "Enter the district"),
        ({"identifier": "RUSD-1", "id_program": ""}, "Choose the student"),
        ({"identifier": "RUSD-1", "id_program": "abc"}, "Choose program from the list."),
        (
            {"identifier": "RUSD-1", "id_program": program, "enrollment_date": "2026-02-30"},
            "Enrolled on: enter a date such as 2026-09-01.",
        ),
        ({"identifier": "RUSD-1", "id_program": program, "program_year": "x"}, "Year"),
        ({"identifier": taken or "", "id_program": program}, "identifier"),
    ):
        fields = {
            "identifier": "",
            "id_program": "",
            "program_year": "",
            "enrollment_date": "",
            "expected_grad": "",
            **data,
        }
        response = post(pages, "/students", fields)
        assert 400 <= response.status_code < 500, (data, response.status_code)
        assert "There is a problem" in response.text, data
        assert message in response.text, (data, message)
        assert "Traceback" not in response.text and "pydantic" not in response.text
    assert count(database, Student) == before


def test_a_case_manager_cannot_add_or_edit_students(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, CASE_MANAGER)
    assert 'href="/students/new"' not in pages.get("/students").text
    assert pages.get("/students/new").status_code == 403
    with database.session_scope() as session:
        program = session.scalar(select(Program.id_program).order_by(Program.id_program))
        mine = session.scalar(select(Student.id_student).order_by(Student.id_student))
    before = count(database, Student)
    refused = post(pages, "/students", {"identifier": "RUSD-9", "id_program": str(program)})
    assert refused.status_code == 403
    assert "Your role cannot add students." in refused.text
    assert count(database, Student) == before
    assert pages.get(f"/students/{mine}/edit").status_code in (403, 404)
