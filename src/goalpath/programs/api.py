"""HTTP endpoints of the programs domain: /programs and /programs/{id}/members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from goalpath.authz.deps import CurrentActor
from goalpath.districts.schemas import MAX_ID
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.programs import service
from goalpath.programs.schemas import (
    Membership,
    MembershipInput,
    MembershipUpdate,
    Program,
    ProgramInput,
    ProgramUpdate,
)

router = APIRouter(prefix="/programs", tags=["programs"])

ProgramId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_program")]
MembershipId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_user_program")]


@router.get(
    "",
    response_model=Page[Program],
    responses=problem_responses(401, 403, 422),
    summary="Programs the signed-in user may read",
)
def list_programs(
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
    id_school_district: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this district's programs")
    ] = None,
) -> Page[Program]:
    items, next_cursor = service.list_programs(actor, page, id_school_district=id_school_district)
    return Page[Program](
        items=[Program.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=201,
    response_model=Program,
    responses=problem_responses(
        401, 403, 404, 409, 422, s404="The district is absent or outside the user's scope"
    ),
    summary="Create a program in a district",
)
def create_program(body: ProgramInput, actor: CurrentActor) -> Program:
    return Program.model_validate(service.create_program(actor, body))


@router.get(
    "/{id_program}",
    response_model=Program,
    responses=problem_responses(401, 403, 404, 422),
)
def get_program(id_program: ProgramId, actor: CurrentActor) -> Program:
    return Program.model_validate(service.get_program(actor, id_program))


@router.patch(
    "/{id_program}",
    response_model=Program,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Change a program's name or description",
)
def update_program(id_program: ProgramId, body: ProgramUpdate, actor: CurrentActor) -> Program:
    program = service.update_program(actor, id_program, body.model_dump(exclude_unset=True))
    return Program.model_validate(program)


@router.delete(
    "/{id_program}",
    status_code=204,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s409="The program still has students or memberships; nothing changed",
    ),
    summary="Delete a program that has no students and no memberships",
)
def delete_program(id_program: ProgramId, actor: CurrentActor) -> Response:
    service.delete_program(actor, id_program)
    return Response(status_code=204)


@router.get(
    "/{id_program}/members",
    response_model=Page[Membership],
    responses=problem_responses(401, 403, 404, 422),
    summary="Staff memberships of the program",
)
def list_members(
    id_program: ProgramId,
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[Membership]:
    items, next_cursor = service.list_members(actor, id_program, page)
    return Page[Membership](items=items, next_cursor=next_cursor)


@router.post(
    "/{id_program}/members",
    status_code=201,
    response_model=Membership,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s404="The program or the user is absent or outside the user's scope",
        s409="The user is already a member of the program",
    ),
    summary="Add a staff member to the program",
)
def create_member(id_program: ProgramId, body: MembershipInput, actor: CurrentActor) -> Membership:
    return service.create_member(actor, id_program, body)


@router.get(
    "/{id_program}/members/{id_user_program}",
    response_model=Membership,
    responses=problem_responses(401, 403, 404, 422),
)
def get_member(
    id_program: ProgramId, id_user_program: MembershipId, actor: CurrentActor
) -> Membership:
    return service.get_member(actor, id_program, id_user_program)


@router.patch(
    "/{id_program}/members/{id_user_program}",
    response_model=Membership,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Change a membership's status or primary flag; it applies on the next request",
)
def update_member(
    id_program: ProgramId,
    id_user_program: MembershipId,
    body: MembershipUpdate,
    actor: CurrentActor,
) -> Membership:
    return service.update_member(
        actor, id_program, id_user_program, body.model_dump(exclude_unset=True)
    )


@router.delete(
    "/{id_program}/members/{id_user_program}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Remove a membership; it stops granting access on the next request",
)
def delete_member(
    id_program: ProgramId, id_user_program: MembershipId, actor: CurrentActor
) -> Response:
    service.delete_member(actor, id_program, id_user_program)
    return Response(status_code=204)
