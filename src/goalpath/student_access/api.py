"""HTTP endpoints of the student access domain: /students/{id}/access and the
access explanation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from goalpath.authz.deps import CurrentActor
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.student_access import service
from goalpath.student_access.schemas import (
    MAX_ID,
    AccessExplanation,
    BulkStudentAccessInput,
    BulkStudentAccessResult,
    StudentAccess,
    StudentAccessInput,
    StudentAccessUpdate,
)

router = APIRouter(prefix="/students", tags=["student access"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]
AssignmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_user_student")]
# Reads outside the user's scope are 404; their only 403 is the sign-in rule that an
# expired password must be changed first.
EXPIRED = "The password has expired and must be changed first"


@router.post(
    "/access/bulk",
    response_model=BulkStudentAccessResult,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s403="Some student is readable but closed to new assignments; nothing changed",
        s404="The user, or some student, is absent or out of scope; nothing changed",
    ),
    summary="Assign one staff member to a caseload of students, all or nothing",
)
def bulk_assign(body: BulkStudentAccessInput, actor: CurrentActor) -> BulkStudentAccessResult:
    return service.bulk_assign(actor, body)


@router.get(
    "/{id_student}/access",
    response_model=Page[StudentAccess],
    responses=problem_responses(401, 403, 404, 422),
    summary="Staff assigned to the student",
)
def list_access(
    id_student: StudentId,
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[StudentAccess]:
    items, next_cursor = service.list_access(actor, id_student, page)
    return Page[StudentAccess](items=items, next_cursor=next_cursor)


@router.post(
    "/{id_student}/access",
    status_code=201,
    response_model=StudentAccess,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Assign a staff member to the student",
)
def create_access(
    id_student: StudentId, body: StudentAccessInput, actor: CurrentActor
) -> StudentAccess:
    return service.create_access(actor, id_student, body)


@router.get(
    "/{id_student}/access/{id_user_student}",
    response_model=StudentAccess,
    responses=problem_responses(401, 403, 404, 422, s403=EXPIRED),
)
def get_access(
    id_student: StudentId, id_user_student: AssignmentId, actor: CurrentActor
) -> StudentAccess:
    return service.get_access(actor, id_student, id_user_student)


@router.patch(
    "/{id_student}/access/{id_user_student}",
    response_model=StudentAccess,
    responses=problem_responses(401, 403, 404, 422),
    summary="Change an assignment's access level or primary flag",
)
def update_access(
    id_student: StudentId,
    id_user_student: AssignmentId,
    body: StudentAccessUpdate,
    actor: CurrentActor,
) -> StudentAccess:
    return service.update_access(
        actor, id_student, id_user_student, body.model_dump(exclude_unset=True)
    )


@router.delete(
    "/{id_student}/access/{id_user_student}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="Revoke an assignment; it stops granting access on the next request",
)
def revoke_access(
    id_student: StudentId, id_user_student: AssignmentId, actor: CurrentActor
) -> Response:
    service.revoke_access(actor, id_student, id_user_student)
    return Response(status_code=204)


@router.get(
    "/{id_student}/access-explanation",
    response_model=AccessExplanation,
    responses=problem_responses(401, 403, 404, 422, s403=EXPIRED),
    summary="Why the signed-in user may see this student",
)
def access_explanation(id_student: StudentId, actor: CurrentActor) -> AccessExplanation:
    return service.explain_access(actor, id_student)
