"""HTTP endpoints of the districts domain: /districts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from goalpath.authz.deps import CurrentActor
from goalpath.districts import service
from goalpath.districts.schemas import MAX_ID, District, DistrictInput, DistrictUpdate
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses

router = APIRouter(prefix="/districts", tags=["districts"])

DistrictId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_school_district")]


@router.get(
    "",
    response_model=Page[District],
    responses=problem_responses(401, 403, 422),
    summary="Districts the signed-in user may read",
)
def list_districts(
    actor: CurrentActor, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[District]:
    items, next_cursor = service.list_districts(actor, page)
    return Page[District](
        items=[District.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=201,
    response_model=District,
    responses=problem_responses(401, 403, 409, 422),
    summary="Create a district",
)
def create_district(body: DistrictInput, actor: CurrentActor) -> District:
    return District.model_validate(service.create_district(actor, body))


@router.get(
    "/{id_school_district}",
    response_model=District,
    responses=problem_responses(401, 403, 404, 422),
)
def get_district(id_school_district: DistrictId, actor: CurrentActor) -> District:
    return District.model_validate(service.get_district(actor, id_school_district))


@router.patch(
    "/{id_school_district}",
    response_model=District,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Change a district's name or contact email",
)
def update_district(
    id_school_district: DistrictId, body: DistrictUpdate, actor: CurrentActor
) -> District:
    district = service.update_district(
        actor, id_school_district, body.model_dump(exclude_unset=True)
    )
    return District.model_validate(district)


@router.delete(
    "/{id_school_district}",
    status_code=204,
    responses=problem_responses(
        401, 403, 404, 409, 422, s409="The district still has programs; nothing changed"
    ),
    summary="Delete a district that has no programs",
)
def delete_district(id_school_district: DistrictId, actor: CurrentActor) -> Response:
    service.delete_district(actor, id_school_district)
    return Response(status_code=204)
