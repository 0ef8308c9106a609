"""Caseloads: assign a staff member to several students of a program at once (SPEC
section 5)."""

from __future__ import annotations

import re

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.errors import GoalpathError, NotFound
from goalpath.kit.pagination import MAX_LIMIT, PageRequest
from goalpath.models import (
    Program,
    Student,
)
from goalpath.programs import service as programs
from goalpath.programs.pages import district_names
from goalpath.student_access import service as student_access
from goalpath.student_access.schemas import MAX_BULK_STUDENTS, BulkStudentAccessInput
from goalpath.web import forms
from goalpath.web.admin import CASELOADS, require_section, section_page, staff_by_email
from goalpath.web.forms import FormState, FormText
from goalpath.web.pages import PageActor, page_router, redirect_with_flash

router = page_router()

MAX_IDENTIFIER = 50
_IDENTIFIER_SEPARATORS = re.compile(r"[\s,;]+")


def _readable_programs(actor: Actor) -> list[Program]:
    found, _next = programs.list_programs(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return found


def _assignments_page(request: Request, actor: Actor, state: FormState | None = None) -> Response:
    require_section(actor, CASELOADS)
    state = state or FormState(
        {"email": "", "id_program": "", "identifiers": "", "access_level": "write"},
        {},
        status_code=200,
    )
    return section_page(
        request,
        actor,
        "admin/assignments.html",
        {
            "programs": _readable_programs(actor),
            "district_names": district_names(actor),
            "max_students": MAX_BULK_STUDENTS,
            **state.context(),
        },
        state.status_code,
    )


@router.get(CASELOADS.path)
def assignments_page(request: Request, actor: PageActor) -> Response:
    return _assignments_page(request, actor)


def parse_identifiers(text: str) -> list[str]:
    """Identifiers as pasted from a roster: one a line, or separated by commas."""
    return list(dict.fromkeys(part for part in _IDENTIFIER_SEPARATORS.split(text) if part))


@router.post(CASELOADS.path)
def assign_caseload(
    request: Request,
    actor: PageActor,
    email: FormText = "",
    id_program: FormText = "",
    identifiers: FormText = "",
    access_level: FormText = "",
) -> Response:
    require_section(actor, CASELOADS)
    values = {
        "email": email,
        "id_program": id_program,
        "identifiers": identifiers,
        "access_level": access_level,
    }
    program_id = forms.record_id(id_program)
    wanted = parse_identifiers(identifiers)
    errors: dict[str, list[str]] = {}
    if not email.strip():
        errors["email"] = ["Enter the staff member's email address."]
    if program_id is None:
        errors["id_program"] = ["Choose the students' program."]
    if not wanted:
        errors["identifiers"] = ["Enter the identifiers of the students to assign."]
    elif len(wanted) > MAX_BULK_STUDENTS:
        errors["identifiers"] = [f"Assign at most {MAX_BULK_STUDENTS} students at a time."]
    elif any(len(item) > MAX_IDENTIFIER or "\x00" in item for item in wanted):
        errors["identifiers"] = [f"An identifier has at most {MAX_IDENTIFIER} characters."]
    if access_level not in ("read", "write"):
        errors["access_level-write"] = ["Choose the access the assignment gives."]
    if errors:
        return _assignments_page(request, actor, FormState(values, errors))
    assert program_id is not None
    try:
        with forms.attempt(actor.db):
            programs.get_program(actor, program_id)
    except NotFound:
        state = forms.invalid(values, "id_program", "Choose one of the programs listed.")
        state.status_code = 404
        return _assignments_page(request, actor, state)
    id_user = staff_by_email(actor, email)
    if id_user is None:
        state = forms.invalid(
            values, "email", "No staff account you can see has this email address."
        )
        state.status_code = 404
        return _assignments_page(request, actor, state)
    # Only students the actor may read resolve: an identifier outside their scope
    # reads exactly like one that does not exist.
    students = actor.db.scalars(
        actor.authz.scoped(
            select(Student).where(Student.id_program == program_id, Student.identifier.in_(wanted)),
            "student",
        )
    )
    found = {student.identifier or "": student.id_student for student in students}
    missing = [identifier for identifier in wanted if identifier not in found]
    if missing:
        state = forms.invalid(
            values, "identifiers", "Not found in this program: " + ", ".join(missing) + "."
        )
        state.form_error = "Some of these students were not found; nothing was assigned."
        state.status_code = 404
        return _assignments_page(request, actor, state)
    try:
        with forms.attempt(actor.db):
            body = BulkStudentAccessInput(
                id_user=id_user,
                id_students=[found[identifier] for identifier in wanted],
                access_level=access_level,  # type: ignore[arg-type]
            )
            result = student_access.bulk_assign(actor, body)
    except GoalpathError as error:
        return _assignments_page(request, actor, forms.refusal(error, values, ("email",)))
    who = (result.created or result.existing)[0].name or email.strip()
    message = f"{who} is now assigned to {len(result.created)} more student(s)"
    if result.existing:
        message += f"; {len(result.existing)} were already assigned and left unchanged"
    return redirect_with_flash(request, CASELOADS.path, message + ".")
