"""A student's record in the pages: add a student to a program, and correct the record
(identifier, program, year, dates), for those whose role may (SPEC sections 1 and 14).
The same service and schemas as the API's `/students` endpoints."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.errors import Forbidden
from goalpath.kit.pagination import MAX_LIMIT
from goalpath.models import Program, Student
from goalpath.students import service as students
from goalpath.students.schemas import StudentInput, StudentUpdate
from goalpath.web import forms
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import PageActor, page_router, render
from goalpath.web.records import STUDENTS_PATH, student_path

router = page_router()

NEW_PATH = STUDENTS_PATH + "/new"
_FIELDS = {
    "identifier": FieldSpec(
        "identifier", "Identifier", "Enter the district's identifier for the student."
    ),
    "id_program": FieldSpec("id_program", "Program", "Choose the student's program."),
    "program_year": FieldSpec("program_year", "Year in the program", "Enter a year."),
    "enrollment_date": FieldSpec("enrollment_date", "Enrolled on", "Enter a date."),
    "expected_grad": FieldSpec("expected_grad", "Expected to graduate on", "Enter a date."),
}
_BLANK = dict.fromkeys(_FIELDS, "")


def _programs(actor: Actor) -> list[tuple[str, str]]:
    """The programs the person may add students to, as choices."""
    statement = (
        actor.authz.scoped(select(Program), "program")
        .order_by(Program.name, Program.id_program)
        .limit(MAX_LIMIT)
    )
    return [
        (str(program.id_program), program.name or f"Program {program.id_program}")
        for program in actor.db.scalars(statement)
    ]


def _day(value: str, spec: FieldSpec) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        message = f"{spec.label}: enter a date such as 2026-09-01."
        raise forms.FormInvalid({spec.element: [message]}) from None


def _year(value: str, spec: FieldSpec) -> int | None:
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return int(text)
    raise forms.FormInvalid({spec.element: [f"{spec.label}: enter a number such as 2."]})


def _data(values: dict[str, str]) -> dict[str, Any]:
    return {
        "identifier": values["identifier"].strip(),
        "id_program": forms.record_choice(values["id_program"], _FIELDS["id_program"]),
        "program_year": _year(values["program_year"], _FIELDS["program_year"]),
        "enrollment_date": _day(values["enrollment_date"], _FIELDS["enrollment_date"]),
        "expected_grad": _day(values["expected_grad"], _FIELDS["expected_grad"]),
    }


def _form_page(
    request: Request,
    actor: Actor,
    state: FormState,
    *,
    student: Student | None = None,
) -> Response:
    return render(
        request,
        "staff/student_form.html",
        {
            "student": student,
            "programs": _programs(actor),
            "action": student_path(student.id_student) + "/edit" if student else STUDENTS_PATH,
            "failed": state if state.errors or state.form_error else None,
            **state.context(),
        },
        status_code=state.status_code,
    )


def _require_create(actor: Actor) -> None:
    if not actor.grants.allows(students.RESOURCE, "create"):
        actor.authz.deny("create", students.RESOURCE, None, None, "forbidden")
        raise Forbidden("Your role cannot add students.")


@router.get(NEW_PATH)
def new_student_page(request: Request, actor: PageActor) -> Response:
    _require_create(actor)
    return _form_page(request, actor, forms.blank(dict(_BLANK)))


@router.post(STUDENTS_PATH)
def create_student(
    request: Request,
    actor: PageActor,
    identifier: FormText = "",
    id_program: FormText = "",
    program_year: FormText = "",
    enrollment_date: FormText = "",
    expected_grad: FormText = "",
) -> Response:
    _require_create(actor)
    values = {
        "identifier": identifier,
        "id_program": id_program,
        "program_year": program_year,
        "enrollment_date": enrollment_date,
        "expected_grad": expected_grad,
    }
    state = FormState(values, form="student")

    def change() -> tuple[str, str]:
        body = forms.validated(StudentInput, _FIELDS, values, _data(values))
        student = students.create_student(actor, body)
        return (
            f"Student {student.identifier} has been added.",
            student_path(student.id_student),
        )

    return forms.submit(
        request,
        actor.db,
        state,
        _FIELDS,
        change,
        lambda failed, _message: _form_page(request, actor, failed or state),
    )


def _editable(actor: Actor, id_student: int) -> Student:
    return actor.authz.fetch(Student, id_student, students.RESOURCE, "update")


@router.get(STUDENTS_PATH + "/{id_student}/edit")
def edit_student_page(id_student: str, request: Request, actor: PageActor) -> Response:
    student = _editable(actor, forms.path_id(id_student))
    values = {
        "identifier": student.identifier or "",
        "id_program": str(student.id_program or ""),
        "program_year": str(student.program_year or ""),
        "enrollment_date": student.enrollment_date.isoformat() if student.enrollment_date else "",
        "expected_grad": student.expected_grad.isoformat() if student.expected_grad else "",
    }
    return _form_page(request, actor, forms.blank(values), student=student)


@router.post(STUDENTS_PATH + "/{id_student}/edit")
def edit_student(
    id_student: str,
    request: Request,
    actor: PageActor,
    identifier: FormText = "",
    id_program: FormText = "",
    program_year: FormText = "",
    enrollment_date: FormText = "",
    expected_grad: FormText = "",
) -> Response:
    student = _editable(actor, forms.path_id(id_student))
    values = {
        "identifier": identifier,
        "id_program": id_program,
        "program_year": program_year,
        "enrollment_date": enrollment_date,
        "expected_grad": expected_grad,
    }
    state = FormState(values, form="student")

    def change() -> tuple[str, str]:
        body = forms.validated(StudentUpdate, _FIELDS, values, _data(values))
        saved = students.update_student(actor, student.id_student, body)
        return f"Student {saved.identifier} has been saved.", student_path(saved.id_student)

    def again(failed: FormState | None, _message: str | None) -> Response:
        return _form_page(
            request, actor, failed or state, student=_editable(actor, student.id_student)
        )

    return forms.submit(request, actor.db, state, _FIELDS, change, again)
