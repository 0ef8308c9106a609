"""The administration area's frame: its sections, which right each serves, and the index
page. Each section's pages live in their domain (`programs/pages.py`, `users/pages.py`,
...); a section is offered to the roles whose rights it serves, and the records and
changes on it are still decided, row by row, by `authz` inside the services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.authz.escalation import missing_rights
from goalpath.authz.wording import role_in_words
from goalpath.errors import GoalpathError
from goalpath.kit.pagination import MAX_LIMIT, PageRequest
from goalpath.models import Permission, Role, RolePermission, User
from goalpath.roles import service as roles
from goalpath.web.pages import (
    PageActor,
    page_router,
    render,
)

router = page_router()


ADMIN_PATH = "/admin"


AUDIT_PATH = "/audit-events"


@dataclass(frozen=True)
class Section:
    label: str
    path: str
    # The right (at this scope or wider) the page serves; without it the page is 403.
    needs: tuple[str, str, str]
    summary: str


DISTRICTS = Section(
    "Districts",
    f"{ADMIN_PATH}/districts",
    ("school_district", "read", "district"),
    "School districts and their contact addresses.",
)


PROGRAMS = Section(
    "Programs",
    f"{ADMIN_PATH}/programs",
    ("program_membership", "read", "program"),
    "Programs and the staff who are members of them.",
)


STAFF = Section(
    "Staff",
    f"{ADMIN_PATH}/users",
    ("user", "read", "district"),
    "Staff accounts: create, change role, deactivate, unlock, end sessions.",
)


ROLES = Section(
    "Roles",
    f"{ADMIN_PATH}/roles",
    ("role", "read", "global"),
    "Roles and the permissions each one bundles.",
)


CASELOADS = Section(
    "Caseloads",
    f"{ADMIN_PATH}/assignments",
    ("student_access", "create", "program"),
    "Assign a staff member to several students of a program at once.",
)


AUDIT = Section(
    "Audit trail",
    AUDIT_PATH,
    ("audit_event", "read", "district"),
    "Who accessed which student's records, and the CSV export of it.",
)


SIGN_IN = Section(
    "District sign-in",
    f"{ADMIN_PATH}/identity-providers",
    ("school_district", "update", "district"),
    "Signing in with the district's own accounts (Google Workspace, Microsoft Entra ID).",
)
ROSTER = Section(
    "Roster import",
    f"{ADMIN_PATH}/roster",
    ("school_district", "update", "district"),
    "Bring in the district's schools, staff and students from its student information "
    "system (OneRoster CSV).",
)
SECTIONS = (DISTRICTS, PROGRAMS, STAFF, ROLES, CASELOADS, SIGN_IN, ROSTER, AUDIT)


def sections_for(actor: Actor) -> list[Section]:
    return [section for section in SECTIONS if actor.grants.holds(*section.needs)]


def require_section(actor: Actor, section: Section) -> None:
    """403 (audited) for a person whose role does not serve this page."""
    if not actor.grants.holds(*section.needs):
        resource, action, _scope = section.needs
        actor.authz.deny(action, resource, None, None, "page_not_in_role")
        raise PageForbidden(f"The {section.label} page is not part of your role.")


class PageForbidden(GoalpathError):
    status_code = 403
    title = "Forbidden"


def section_page(
    request: Request,
    actor: Actor,
    template: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {"sections": sections_for(actor), "now": actor.info.now, **context},
        status_code,
    )


def role_label(name: str | None) -> str:
    if name is None:
        return "No role"
    return role_in_words(name)


def readable_roles(actor: Actor) -> list[Role]:
    """Every role the actor may read (none without `role:read`), for names and choices."""
    found, _next = roles.list_roles(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return found


def grantable_roles(actor: Actor, keep: int | None = None) -> list[Role]:
    """The roles the actor may give (every right of the role held at the same or a
    wider scope: `authz.escalation`), in one statement; `keep` (a person's current role)
    stays listed so a form shows it as chosen."""
    found = readable_roles(actor)
    rights: dict[int, list[tuple[str, str, str]]] = {role.id_role: [] for role in found}
    for id_role, resource, action, scope in actor.db.execute(
        select(RolePermission.id_role, Permission.resource, Permission.action, Permission.scope)
        .join(Permission, Permission.id_permission == RolePermission.id_permission)
        .where(RolePermission.id_role.in_(list(rights)))
    ):
        if id_role is not None and resource and action and scope:
            rights[id_role].append((resource, action, scope))
    return [
        role
        for role in found
        if role.id_role == keep or not missing_rights(actor.grants, rights[role.id_role])
    ]


def staff_by_email(actor: Actor, email: str) -> int | None:
    """The account with this email among those the actor may read."""
    normalised = email.strip().lower()
    # PostgreSQL refuses NUL in text: such an address matches nobody, as it must.
    if not normalised or len(normalised) > 320 or "\x00" in normalised:
        return None
    statement = actor.authz.scoped(select(User.id_user).where(User.email == normalised), "user")
    found: int | None = actor.db.scalar(statement)
    return found


@router.get(ADMIN_PATH)
def admin_index(request: Request, actor: PageActor) -> Response:
    available = sections_for(actor)
    if not available:
        actor.authz.deny("read", "administration", None, None, "page_not_in_role")
        raise PageForbidden("Your role has no administration pages.")
    return section_page(request, actor, "admin/index.html", {})
