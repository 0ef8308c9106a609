"""Caseloads (SPEC sections 5 and 14): for a program, who is assigned to which of its
students, and which of them is the primary contact; a coordinator assigns a staff member
to students picked from the program's lists, and unassigns from the list. The same
service as the API's `/students/{id}/access` endpoints decides every change."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Form, Request
from sqlalchemy import func, select
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.errors import NotFound, ValidationFailed
from goalpath.kit.pagination import MAX_LIMIT, PageRequest
from goalpath.models import Program, Student
from goalpath.programs import service as programs
from goalpath.programs.pages import district_names
from goalpath.student_access import service as student_access
from goalpath.student_access.schemas import MAX_BULK_STUDENTS, BulkStudentAccessInput
from goalpath.web import forms
from goalpath.web.admin import CASELOADS, require_section, section_page
from goalpath.web.forms import FieldSpec, FormInvalid, FormState, FormText
from goalpath.web.pages import PageActor, page_router, redirect_with_flash

router = page_router()

MAX_IDENTIFIER = 50
# A program's students and assignments are listed whole up to this many.
LISTED = 500
_IDENTIFIER_SEPARATORS = re.compile(r"[\s,;]+")
_LABELS = {
    "id_program": "Program",
    "id_user": "Staff member",
    "id_student": "Students",
    "identifiers": "Student identifiers",
    "access_level-write": "Access",
}


def _readable_programs(actor: Actor) -> list[Program]:
    found, _next = programs.list_programs(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return found


def _program_lists(actor: Actor, id_program: int) -> dict[str, Any]:
    """The chosen program with its active members, its students and their assignments:
    a fixed number of statements whatever the program's size."""
    program = programs.get_program(actor, id_program)
    members, _next = programs.list_members(
        actor, id_program, PageRequest(limit=MAX_LIMIT, cursor=None)
    )
    listed = list(
        actor.db.scalars(
            actor.authz.scoped(select(Student), "student")
            .where(Student.id_program == id_program)
            .order_by(Student.identifier, Student.id_student)
            .limit(LISTED)
        )
    )
    assignments = student_access.program_assignments(actor, id_program, LISTED * 4)
    assigned: dict[int, list[str]] = {}
    for row in assignments:
        assigned.setdefault(row.id_student, []).append(row.name or "a staff member")
    return {
        "program": program,
        "members": [member for member in members if member.status == "active" and member.id_user],
        "students": listed,
        "assigned": assigned,
        "assignments": assignments,
        "may_unassign": actor.grants.allows(student_access.RESOURCE, "delete"),
    }


def _assignments_page(
    request: Request, actor: Actor, program_text: str, state: FormState | None = None
) -> Response:
    require_section(actor, CASELOADS)
    id_program = forms.record_id(program_text) if program_text else None
    if program_text and id_program is None:
        raise ValidationFailed("Choose a program from the list.")
    state = state or forms.blank({"id_user": "", "identifiers": "", "access_level": "write"})
    context: dict[str, Any] = {
        "programs": _readable_programs(actor),
        "district_names": district_names(actor),
        "max_students": MAX_BULK_STUDENTS,
        "chosen": id_program,
        "checked": set(state.values.get("id_student", "").split(",")) - {""},
        "field_labels": _LABELS,
        **state.context(),
    }
    if id_program is not None:
        context.update(_program_lists(actor, id_program))
    return section_page(request, actor, "admin/assignments.html", context, state.status_code)


@router.get(CASELOADS.path)
def assignments_page(request: Request, actor: PageActor, program: str = "") -> Response:
    return _assignments_page(request, actor, program)


def parse_identifiers(text: str) -> list[str]:
    """Identifiers as pasted from a roster: one a line, or separated by commas."""
    return list(dict.fromkeys(part for part in _IDENTIFIER_SEPARATORS.split(text) if part))


def _by_identifier(actor: Actor, id_program: int, wanted: list[str]) -> tuple[list[int], list[str]]:
    """Students of the program the actor may read, matched case-insensitively (a
    roster's "rusd-104200" is RUSD-104200); those not found are named."""
    lowered = {identifier.lower(): identifier for identifier in wanted}
    found = {
        (student.identifier or "").lower(): student.id_student
        for student in actor.db.scalars(
            actor.authz.scoped(
                select(Student).where(
                    Student.id_program == id_program,
                    func.lower(Student.identifier).in_(list(lowered)),
                ),
                "student",
            )
        )
    }
    missing = [original for key, original in lowered.items() if key not in found]
    return [found[key] for key in lowered if key in found], missing


_ASSIGN_FIELDS = {
    "id_user": FieldSpec("id_user", "Staff member", "Choose the staff member to assign."),
    "identifiers": FieldSpec("identifiers", "Identifiers", "Paste the students' identifiers."),
}


@router.post(CASELOADS.path)
def assign_caseload(
    request: Request,
    actor: PageActor,
    id_program: FormText = "",
    id_user: FormText = "",
    identifiers: FormText = "",
    access_level: FormText = "",
    id_student: list[str] = Form(default_factory=list),
) -> Response:
    require_section(actor, CASELOADS)
    values = {
        "id_user": id_user,
        "identifiers": identifiers,
        "access_level": access_level,
        "id_student": ",".join(id_student[: MAX_BULK_STUDENTS + 1]),
    }
    program_id = forms.record_id(id_program)
    if program_id is None:
        raise ValidationFailed("Choose a program from the list.")

    def change() -> tuple[str, str]:
        assert program_id is not None
        user_id = forms.record_id(id_user)
        picked = [forms.record_id(value) for value in id_student]
        wanted = parse_identifiers(identifiers)
        errors: dict[str, list[str]] = {}
        if user_id is None:
            errors["id_user"] = ["Choose the staff member to assign."]
        if any(value is None for value in picked):
            errors["id_student"] = ["Choose students from the list."]
        elif not picked and not wanted:
            errors["id_student"] = ["Tick the students to assign, or paste their identifiers."]
        elif len(picked) + len(wanted) > MAX_BULK_STUDENTS:
            errors["id_student"] = [f"Assign at most {MAX_BULK_STUDENTS} students at a time."]
        elif any(len(item) > MAX_IDENTIFIER or "\x00" in item for item in wanted):
            errors["identifiers"] = [f"An identifier has at most {MAX_IDENTIFIER} characters."]
        if access_level not in ("read", "write"):
            errors["access_level-write"] = ["Choose the access the assignment gives."]
        if errors:
            raise FormInvalid(errors)
        assert user_id is not None
        programs.get_program(actor, program_id)
        students, missing = _by_identifier(actor, program_id, wanted) if wanted else ([], [])
        if missing:
            raise NotFound(
                "Some of these students were not found; nothing was assigned.",
                errors=[
                    {
                        "field": "identifiers",
                        "message": "Not found in this program: " + ", ".join(missing) + ".",
                    }
                ],
            )
        chosen = list(dict.fromkeys([value for value in picked if value is not None] + students))
        body = BulkStudentAccessInput(
            id_user=user_id,
            id_students=chosen,
            access_level=access_level,  # type: ignore[arg-type]
        )
        result = student_access.bulk_assign(actor, body)
        who = (result.created or result.existing)[0].name or "The staff member"
        count = len(result.created)
        message = f"{who} is now assigned to {count} more student{'s' if count != 1 else ''}"
        if result.existing:
            message += f"; {len(result.existing)} already assigned were left as they were"
        return message + ".", f"{CASELOADS.path}?program={program_id}"

    again = forms.showing(_assignments_page, request, actor, id_program)

    return forms.submit(request, actor.db, FormState(values), _ASSIGN_FIELDS, change, again)


@router.post(CASELOADS.path + "/{id_student}/{id_user_student}/remove")
def unassign(
    id_student: str,
    id_user_student: str,
    request: Request,
    actor: PageActor,
    id_program: FormText = "",
) -> Response:
    require_section(actor, CASELOADS)
    student = forms.path_id(id_student)
    link = forms.path_id(id_user_student)
    found = student_access.get_access(actor, student, link)
    student_access.revoke_access(actor, student, link)
    back = CASELOADS.path
    if forms.record_id(id_program) is not None:
        back += f"?program={forms.record_id(id_program)}"
    who = found.name or "The staff member"
    return redirect_with_flash(request, back, f"{who} is no longer assigned to this student.")
