"""Roles and the permissions each bundles, and whether a role requires a second factor
(SPEC sections 5 and 12)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from sqlalchemy import func, select
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.authz.roles import ACTIONS, RESOURCES, SCOPES
from goalpath.authz.wording import right_in_words
from goalpath.errors import ValidationFailed
from goalpath.kit.pagination import MAX_LIMIT, PageRequest
from goalpath.models import (
    RolePermission,
    User,
)
from goalpath.roles import service as roles
from goalpath.roles.schemas import PermissionFilters, RoleUpdate
from goalpath.web import forms
from goalpath.web.admin import ROLES, require_section, role_label, section_page
from goalpath.web.forms import FormInvalid, FormState, FormText
from goalpath.web.pages import PageActor, page_router

router = page_router()

# A role's page lists all its permissions.
_ALL_PERMISSIONS = PageRequest(limit=MAX_LIMIT, cursor=None)


@router.get(ROLES.path)
def roles_page(request: Request, actor: PageActor, limit: str = "", cursor: str = "") -> Response:
    require_section(actor, ROLES)
    items, next_cursor = roles.list_roles(actor, forms.page_request(limit, cursor))
    # One grouped query for the page's counts; role rights are global, so a reader of
    # roles reads every link (roles.service).
    counts = dict(
        actor.db.execute(
            select(RolePermission.id_role, func.count())
            .where(RolePermission.id_role.in_([item.id_role for item in items]))
            .group_by(RolePermission.id_role)
        ).all()
    )
    holders = dict(
        actor.db.execute(
            select(User.id_role, func.count())
            .where(User.id_role.in_([item.id_role for item in items]), actor.authz.readable("user"))
            .group_by(User.id_role)
        ).all()
    )
    return section_page(
        request,
        actor,
        "admin/roles.html",
        {
            "roles": items,
            "counts": counts,
            "holders": holders,
            "role_label": role_label,
            "next_link": forms.next_link(request, next_cursor),
        },
    )


def _role_page(
    request: Request,
    actor: Actor,
    id_role: int,
    page: PageRequest,
    state: FormState | None = None,
) -> Response:
    require_section(actor, ROLES)
    role = roles.get_role(actor, id_role)
    permissions, next_cursor = roles.role_permissions(actor, id_role, page)
    state = state or FormState({"resource": "", "action": "", "scope": ""}, {}, status_code=200)
    return section_page(
        request,
        actor,
        "admin/role.html",
        {
            "role": role,
            "role_label": role_label,
            "permissions": permissions,
            "next_link": forms.next_link(request, next_cursor),
            "may_update": actor.grants.allows("role", "update"),
            "is_own_role": actor.grants.id_role == id_role,
            "resources": RESOURCES,
            "actions": ACTIONS,
            "scopes": SCOPES,
            **state.context(),
        },
        state.status_code,
    )


@router.get(ROLES.path + "/{id_role}")
def role_page(
    request: Request, actor: PageActor, id_role: str, limit: str = "", cursor: str = ""
) -> Response:
    return _role_page(request, actor, forms.path_id(id_role), forms.page_request(limit, cursor))


@router.post(ROLES.path + "/{id_role}/permissions")
def add_permission(
    request: Request,
    actor: PageActor,
    id_role: str,
    resource: FormText = "",
    action: FormText = "",
    scope: FormText = "",
) -> Response:
    role_id = forms.path_id(id_role)
    require_section(actor, ROLES)
    values = {"resource": resource, "action": action, "scope": scope}
    roles.get_role(actor, role_id)

    def change() -> str:
        for name, choices in (("resource", RESOURCES), ("action", ACTIONS), ("scope", SCOPES)):
            if values[name] not in choices:
                raise FormInvalid({name: [f"Choose a {name} from the list."]})
        found, _next = roles.list_permissions(
            actor,
            PermissionFilters(resource=resource, action=action, scope=scope),
            PageRequest(limit=1, cursor=None),
        )
        if not found:
            raise ValidationFailed("There is no such permission; choose one from the lists.")
        permission = roles.add_permission(actor, role_id, found[0].id_permission)
        right = right_in_words(
            permission.resource or "", permission.action or "", permission.scope or ""
        )
        return f"Holders of the role can now {right}."

    return _role_change(request, actor, role_id, change, values)


def _role_change(
    request: Request,
    actor: Actor,
    role_id: int,
    change: Callable[[], str],
    values: dict[str, str] | None = None,
) -> Response:
    again = forms.showing(_role_page, request, actor, role_id, _ALL_PERMISSIONS)

    shown = values or {"resource": "", "action": "", "scope": ""}
    return forms.act(request, actor.db, change, f"{ROLES.path}/{role_id}", again, shown)


@router.post(ROLES.path + "/{id_role}/second-factor")
def set_role_second_factor(
    request: Request, actor: PageActor, id_role: str, requires_second_factor: FormText = ""
) -> Response:
    role_id = forms.path_id(id_role)
    require_section(actor, ROLES)

    def change() -> str:
        if requires_second_factor not in ("yes", "no"):
            raise ValidationFailed("Choose whether the role requires a second factor.")
        body = RoleUpdate(requires_second_factor=requires_second_factor == "yes")
        roles.update_role(actor, role_id, body.model_dump(exclude_unset=True))
        if body.requires_second_factor:
            return (
                "Holders of this role now need a second factor; those without one set it up "
                "when they next use Goalpath."
            )
        return "Holders of this role no longer need a second factor; those who have one keep it."

    return _role_change(request, actor, role_id, change)


@router.post(ROLES.path + "/{id_role}/permissions/{id_permission}/remove")
def remove_permission(
    request: Request, actor: PageActor, id_role: str, id_permission: str
) -> Response:
    role_id = forms.path_id(id_role)
    permission_id = forms.path_id(id_permission)
    require_section(actor, ROLES)

    def change() -> str:
        roles.remove_permission(actor, role_id, permission_id)
        return "The permission has been removed from the role."

    return _role_change(request, actor, role_id, change)
