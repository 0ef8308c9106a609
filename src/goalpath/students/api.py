"""HTTP endpoints of the students domain: /students and /students/{id_student}."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from goalpath.authz.deps import CurrentActor
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.students import service
from goalpath.students.schemas import MAX_ID, Student, StudentInput, StudentUpdate

router = APIRouter(tags=["students"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]


def student_filters(
    id_program: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only students of this program")
    ] = None,
    identifier_prefix: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=50,
            description="Identifiers starting with this text (case-sensitive; % and _ "
            "are matched literally)",
        ),
    ] = None,
    program_year: Annotated[int | None, Query(ge=1, le=99)] = None,
    expected_grad_from: Annotated[
        date | None, Query(description="expected_grad on or after this date")
    ] = None,
    expected_grad_to: Annotated[
        date | None, Query(description="expected_grad on or before this date")
    ] = None,
) -> service.StudentFilters:
    return service.StudentFilters(
        id_program=id_program,
        identifier_prefix=identifier_prefix,
        program_year=program_year,
        expected_grad_from=expected_grad_from,
        expected_grad_to=expected_grad_to,
    )


@router.get(
    "/students",
    response_model=Page[Student],
    responses=problem_responses(401, 403, 422),
    summary="Students the signed-in user may read",
)
def list_students(
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[service.StudentFilters, Depends(student_filters)],
) -> Page[Student]:
    items, next_cursor = service.list_students(actor, filters, page)
    return Page[Student](
        items=[Student.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.post(
    "/students",
    status_code=201,
    response_model=Student,
    responses=problem_responses(
        401,
        403,
        409,
        422,
        s409="The identifier is already used in the program's district",
        s422="Invalid input (unknown fields such as names are refused), or no such program",
    ),
    summary="Create a student in a program",
)
def create_student(body: StudentInput, actor: CurrentActor) -> Student:
    return Student.model_validate(service.create_student(actor, body))


@router.get(
    "/students/{id_student}",
    response_model=Student,
    responses=problem_responses(401, 403, 404, 422),
    summary="One student (the read is recorded on the audit trail)",
)
def get_student(id_student: StudentId, actor: CurrentActor) -> Student:
    return Student.model_validate(service.get_student(actor, id_student))


@router.patch(
    "/students/{id_student}",
    response_model=Student,
    responses=problem_responses(
        401, 403, 404, 409, 422, s409="The identifier is already used in the district"
    ),
    summary="Change a student's identifier, program or dates",
)
def update_student(id_student: StudentId, body: StudentUpdate, actor: CurrentActor) -> Student:
    return Student.model_validate(service.update_student(actor, id_student, body))


@router.delete(
    "/students/{id_student}",
    status_code=204,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s409="The student still has goals, events, reports, health notes or assignments",
    ),
    summary="Delete a student that has no records",
)
def delete_student(id_student: StudentId, actor: CurrentActor) -> Response:
    service.delete_student(actor, id_student)
    return Response(status_code=204)
