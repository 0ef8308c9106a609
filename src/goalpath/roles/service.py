"""Roles, permissions and their links (SPEC section 5), under the resource `role`.

Roles are not scoped: any right on `role` is a global one. The authorizer's record
helpers (`fetch`, `scoped`) know only scoped tables, so this module asks it for the
`role` condition directly and applies it the same way: outside the read right a role is
404, readable but not changeable is 403, both audited.

Changing a role's permissions is an update of the role. Adding a right goes through
the escalation guard (only a right the actor holds, never to their own role); nobody
removes rights from their own role either, which also keeps the last administrator
from locking everyone out of role management. The default roles keep their names and
cannot be deleted: the command line and the demo loader find them by name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError

from goalpath.audit.service import DENIED
from goalpath.authz.actor import Actor
from goalpath.authz.escalation import require_can_grant_right
from goalpath.authz.roles import ROLE_DESCRIPTIONS
from goalpath.authz.service import Bindings
from goalpath.errors import Conflict, Forbidden, NotFound, ValidationFailed
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import Permission, Role, RolePermission, User
from goalpath.roles.schemas import PermissionFilters, RoleCreate

RESOURCE = "role"
DEFAULT_ROLES = frozenset(ROLE_DESCRIPTIONS)


def _readable(actor: Actor) -> ColumnElement[bool]:
    # Explicit (empty) bindings: `role` has no columns to scope by.
    return actor.authz.condition(RESOURCE, "read", Bindings())


def _role(actor: Actor, id_role: int, action: str = "read") -> Role:
    role = actor.db.scalars(
        select(Role).where(Role.id_role == id_role, _readable(actor))
    ).one_or_none()
    if role is None:
        actor.authz.deny(action, RESOURCE, id_role, None, "not_found_or_out_of_scope")
        raise NotFound("Not found.")
    if action != "read":
        actor.authz.require(RESOURCE, action, record_id=id_role)
    return role


def _right(permission: Permission) -> tuple[str, str, str]:
    return (permission.resource or "", permission.action or "", permission.scope or "")


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed(
            "A role needs a name.",
            errors=[{"field": "name", "message": "Enter a name of 1 to 100 characters."}],
        )
    return cleaned


def _name_taken(actor: Actor, name: str, *, other_than: int | None = None) -> bool:
    statement = select(func.count()).select_from(Role).where(Role.name == name)
    if other_than is not None:
        statement = statement.where(Role.id_role != other_than)
    return bool(actor.db.scalar(statement))


def _flush(actor: Actor, conflict: str) -> None:
    try:
        actor.db.flush()
    except IntegrityError as error:
        # A concurrent request won the race for the same unique value or reference.
        raise Conflict(conflict) from error


def list_roles(actor: Actor, page: PageRequest) -> tuple[list[Role], str | None]:
    statement = select(Role).where(_readable(actor))
    return keyset_page(actor.db, statement, [Role.id_role.expression], page)


def get_role(actor: Actor, id_role: int) -> Role:
    return _role(actor, id_role)


def create_role(actor: Actor, body: RoleCreate) -> Role:
    actor.authz.require(RESOURCE, "create")
    name = _clean_name(body.name)
    if _name_taken(actor, name):
        raise Conflict("A role with this name already exists.")
    role = Role(
        name=name,
        description=body.description,
        requires_second_factor=body.requires_second_factor,
        created_at=actor.info.now,
    )
    actor.db.add(role)
    _flush(actor, "A role with this name already exists.")
    fields = (["description"] if body.description is not None else []) + ["name"]
    if body.requires_second_factor:
        fields.append("requires_second_factor")
    actor.audit.record("create", RESOURCE, record_id=role.id_role, details={"fields": fields})
    return role


def update_role(actor: Actor, id_role: int, changes: dict[str, Any]) -> Role:
    role = _role(actor, id_role, "update")
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    changed = sorted(name for name, value in changes.items() if getattr(role, name) != value)
    if "name" in changed:
        if role.name in DEFAULT_ROLES:
            raise Conflict(
                f"The default role {role.name} keeps its name: the command line and the demo "
                "find it by name. Change its description or permissions instead."
            )
        if _name_taken(actor, changes["name"], other_than=id_role):
            raise Conflict("A role with this name already exists.")
    for name in changed:
        setattr(role, name, changes[name])
    _flush(actor, "A role with this name already exists.")
    actor.audit.record("update", RESOURCE, record_id=id_role, details={"fields": changed})
    return role


def delete_role(actor: Actor, id_role: int) -> None:
    role = _role(actor, id_role, "delete")
    if role.name in DEFAULT_ROLES:
        raise Conflict(f"The default role {role.name} cannot be deleted.")
    holders = actor.db.scalar(select(func.count()).select_from(User).where(User.id_role == id_role))
    if holders:
        raise Conflict(
            f"{holders} account(s), active or deactivated, hold this role; give them another "
            "role first."
        )
    # The links are the role's own definition, not records anyone wrote: they go with it.
    actor.db.execute(delete(RolePermission).where(RolePermission.id_role == id_role))
    actor.db.delete(role)
    _flush(actor, "An account was given this role meanwhile; it was not deleted.")
    actor.audit.record(
        "delete", RESOURCE, record_id=id_role, details={"fields": ["description", "name"]}
    )


def list_permissions(
    actor: Actor, filters: PermissionFilters, page: PageRequest
) -> tuple[list[Permission], str | None]:
    statement = select(Permission).where(_readable(actor))
    if filters.resource is not None:
        statement = statement.where(Permission.resource == filters.resource)
    if filters.action is not None:
        statement = statement.where(Permission.action == filters.action)
    if filters.scope is not None:
        statement = statement.where(Permission.scope == filters.scope)
    return keyset_page(actor.db, statement, [Permission.id_permission.expression], page)


def role_permissions(
    actor: Actor, id_role: int, page: PageRequest
) -> tuple[list[Permission], str | None]:
    _role(actor, id_role)
    statement = (
        select(Permission)
        .join(RolePermission, RolePermission.id_permission == Permission.id_permission)
        .where(RolePermission.id_role == id_role)
    )
    return keyset_page(actor.db, statement, [Permission.id_permission.expression], page)


def add_permission(actor: Actor, id_role: int, id_permission: int) -> Permission:
    _role(actor, id_role, "update")
    permission = actor.db.get(Permission, id_permission)
    if permission is None:
        raise ValidationFailed(
            "There is no permission with this id.",
            errors=[{"field": "id_permission", "message": "No such permission."}],
        )
    right = _right(permission)
    require_can_grant_right(actor.grants, actor.audit, id_role=id_role, right=right)
    linked = actor.db.scalar(
        select(RolePermission.id_role_permission).where(
            RolePermission.id_role == id_role, RolePermission.id_permission == id_permission
        )
    )
    if linked is not None:
        raise Conflict("The role already has this permission.")
    actor.db.add(RolePermission(id_role=id_role, id_permission=id_permission))
    _flush(actor, "The role already has this permission.")
    actor.audit.record(
        "grant_permission",
        RESOURCE,
        record_id=id_role,
        details={
            "fields": ["permissions"],
            "id_permission": id_permission,
            "right": ":".join(right),
        },
    )
    return permission


def remove_permission(actor: Actor, id_role: int, id_permission: int) -> None:
    _role(actor, id_role, "update")
    if actor.grants.id_role == id_role:
        actor.audit.record_now(
            "revoke_permission",
            RESOURCE,
            outcome=DENIED,
            record_id=id_role,
            details={"reason": "own_role", "id_permission": id_permission},
        )
        raise Forbidden("Nobody changes the rights of their own role.")
    removed = actor.db.execute(
        delete(RolePermission).where(
            RolePermission.id_role == id_role, RolePermission.id_permission == id_permission
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound("The role does not have this permission.")
    actor.audit.record(
        "revoke_permission",
        RESOURCE,
        record_id=id_role,
        details={"fields": ["permissions"], "id_permission": id_permission},
    )
