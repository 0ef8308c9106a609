"""No privilege escalation (SPEC section 5): a user may grant a role, or add a right to
a role, only when they hold every right it carries at the same or a wider scope; and
nobody changes their own role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED, AuditTrail
from goalpath.authz.grants import Grants
from goalpath.authz.wording import right_in_words, rights_in_words
from goalpath.errors import Forbidden
from goalpath.models import Permission, RolePermission


def role_rights(session: Session, id_role: int) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(Permission.resource, Permission.action, Permission.scope)
        .join(RolePermission, RolePermission.id_permission == Permission.id_permission)
        .where(RolePermission.id_role == id_role)
    ).all()
    return sorted((r, a, s) for r, a, s in rows if r and a and s)


def missing_rights(grants: Grants, rights: list[tuple[str, str, str]]) -> list[str]:
    return [f"{r}:{a}:{s}" for r, a, s in rights if not grants.holds(r, a, s)]


def require_can_grant_role(
    session: Session, grants: Grants, audit: AuditTrail, *, id_role: int, id_target_user: int | None
) -> None:
    if id_target_user is not None and id_target_user == grants.id_user:
        audit.record_now(
            "grant_role",
            "user",
            outcome=DENIED,
            record_id=id_target_user,
            details={"reason": "own_role", "id_role": id_role},
        )
        raise Forbidden("Nobody can change their own role.")
    rights = role_rights(session, id_role)
    lacking = [right for right in rights if not grants.holds(*right)]
    missing = missing_rights(grants, rights)
    if missing:
        audit.record_now(
            "grant_role",
            "user",
            outcome=DENIED,
            record_id=id_target_user,
            details={"reason": "escalation", "id_role": id_role, "missing": missing},
        )
        raise Forbidden(
            "You can only grant a role whose every right you hold yourself. This role would "
            f"also let them {rights_in_words(lacking)}.",
            errors=[{"field": "id_role", "message": "Choose a role you may grant."}],
        )


def require_can_grant_right(
    grants: Grants, audit: AuditTrail, *, id_role: int, right: tuple[str, str, str]
) -> None:
    if grants.id_role == id_role or not grants.holds(*right):
        audit.record_now(
            "grant_permission",
            "role",
            outcome=DENIED,
            record_id=id_role,
            details={"reason": "escalation", "right": ":".join(right)},
        )
        raise Forbidden(
            "You can only add a right you hold yourself, and never to your own role."
            if grants.id_role == id_role
            else "You can only add a right you hold yourself: you cannot "
            f"{right_in_words(*right)}.",
        )
