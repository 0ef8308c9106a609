"""A user's rights: the (resource, action, scope) triples of their role, loaded once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from goalpath.models import Permission, RolePermission

# Wider scopes first: a right held at a scope covers every narrower one (SPEC section 5,
# used by the escalation guard).
SCOPE_ORDER = ("global", "district", "program", "assigned", "own")


def scope_covers(held: str, wanted: str) -> bool:
    if held not in SCOPE_ORDER or wanted not in SCOPE_ORDER:
        return held == wanted
    return SCOPE_ORDER.index(held) <= SCOPE_ORDER.index(wanted)


@dataclass(frozen=True)
class Grants:
    id_user: int
    id_role: int | None
    triples: frozenset[tuple[str, str, str]]

    def scopes(self, resource: str, action: str) -> frozenset[str]:
        return frozenset(s for r, a, s in self.triples if r == resource and a == action)

    def allows(self, resource: str, action: str) -> bool:
        return any(r == resource and a == action for r, a, _ in self.triples)

    def holds(self, resource: str, action: str, scope: str) -> bool:
        """True when this user holds the right at the same or a wider scope."""
        return any(scope_covers(held, scope) for held in self.scopes(resource, action))


def load_grants(session: Session, id_user: int, id_role: int | None) -> Grants:
    if id_role is None:
        return Grants(id_user, None, frozenset())
    rows = session.execute(
        select(Permission.resource, Permission.action, Permission.scope)
        .join(RolePermission, RolePermission.id_permission == Permission.id_permission)
        .where(RolePermission.id_role == id_role)
    ).all()
    return Grants(
        id_user,
        id_role,
        frozenset((r, a, s) for r, a, s in rows if r and a and s),
    )
