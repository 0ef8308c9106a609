"""/api/v1/roles and /api/v1/permissions: roles, the permission catalogue and the
rights each role bundles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from goalpath.authz.deps import CurrentActor
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.roles import service
from goalpath.roles.schemas import (
    PermissionFilters,
    PermissionOut,
    RoleCreate,
    RoleOut,
    RolePermissionInput,
    RoleUpdate,
)
from goalpath.users.schemas import MAX_ID

router = APIRouter(tags=["roles"])

RoleId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_role")]
PermissionId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_permission")]
PageParameters = Annotated[PageRequest, Depends(page_request)]


def permission_filters(
    resource: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    scope: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
) -> PermissionFilters:
    return PermissionFilters(resource=resource, action=action, scope=scope)


@router.get(
    "/roles",
    response_model=Page[RoleOut],
    responses=problem_responses(401, 422),
    summary="Roles (empty without the right to read roles)",
)
def list_roles(actor: CurrentActor, page: PageParameters) -> Page[RoleOut]:
    roles, next_cursor = service.list_roles(actor, page)
    return Page[RoleOut](
        items=[RoleOut.model_validate(role) for role in roles], next_cursor=next_cursor
    )


@router.post(
    "/roles",
    status_code=201,
    response_model=RoleOut,
    responses=problem_responses(401, 403, 409, 422, s409="A role with this name exists"),
    summary="Create a role (with no permissions yet)",
)
def create_role(body: RoleCreate, actor: CurrentActor) -> RoleOut:
    return RoleOut.model_validate(service.create_role(actor, body))


@router.get("/roles/{id_role}", response_model=RoleOut, responses=problem_responses(401, 404, 422))
def get_role(id_role: RoleId, actor: CurrentActor) -> RoleOut:
    return RoleOut.model_validate(service.get_role(actor, id_role))


@router.patch(
    "/roles/{id_role}",
    response_model=RoleOut,
    responses=problem_responses(
        401, 403, 404, 409, 422, s409="The name is taken, or a default role would be renamed"
    ),
    summary="Rename a role or change its description",
)
def update_role(id_role: RoleId, body: RoleUpdate, actor: CurrentActor) -> RoleOut:
    role = service.update_role(actor, id_role, body.model_dump(exclude_unset=True))
    return RoleOut.model_validate(role)


@router.delete(
    "/roles/{id_role}",
    status_code=204,
    responses=problem_responses(
        401, 403, 404, 409, 422, s409="Accounts hold the role, or it is a default role"
    ),
    summary="Delete a role that no account holds",
)
def delete_role(id_role: RoleId, actor: CurrentActor) -> Response:
    service.delete_role(actor, id_role)
    return Response(status_code=204)


@router.get(
    "/roles/{id_role}/permissions",
    response_model=Page[PermissionOut],
    responses=problem_responses(401, 404, 422),
    summary="The permissions the role bundles",
)
def role_permissions(
    id_role: RoleId, actor: CurrentActor, page: PageParameters
) -> Page[PermissionOut]:
    permissions, next_cursor = service.role_permissions(actor, id_role, page)
    return Page[PermissionOut](
        items=[PermissionOut.model_validate(permission) for permission in permissions],
        next_cursor=next_cursor,
    )


@router.post(
    "/roles/{id_role}/permissions",
    status_code=201,
    response_model=PermissionOut,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s403="No right to change roles, a right you do not hold, or your own role",
        s409="The role already has this permission",
    ),
    summary="Add a permission to a role (only one you hold, never to your own role)",
)
def add_permission(
    id_role: RoleId, body: RolePermissionInput, actor: CurrentActor
) -> PermissionOut:
    return PermissionOut.model_validate(service.add_permission(actor, id_role, body.id_permission))


@router.delete(
    "/roles/{id_role}/permissions/{id_permission}",
    status_code=204,
    responses=problem_responses(
        401, 403, 404, 422, s404="No such role, or the role does not have this permission"
    ),
    summary="Remove a permission from a role (never from your own role)",
)
def remove_permission(
    id_role: RoleId, id_permission: PermissionId, actor: CurrentActor
) -> Response:
    service.remove_permission(actor, id_role, id_permission)
    return Response(status_code=204)


@router.get(
    "/permissions",
    response_model=Page[PermissionOut],
    responses=problem_responses(401, 422),
    summary="The permission catalogue (empty without the right to read roles)",
)
def list_permissions(
    actor: CurrentActor,
    filters: Annotated[PermissionFilters, Depends(permission_filters)],
    page: PageParameters,
) -> Page[PermissionOut]:
    permissions, next_cursor = service.list_permissions(actor, filters, page)
    return Page[PermissionOut](
        items=[PermissionOut.model_validate(permission) for permission in permissions],
        next_cursor=next_cursor,
    )
