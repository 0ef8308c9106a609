"""Default roles: the matrix of SPEC section 5, created by migration 0002."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from goalpath.models import Role

C, R, U, D, S = "create", "read", "update", "delete", "read_sensitive"
CRUD = (C, R, U, D)
# Every action a permission can name.
ACTIONS = (C, R, U, D, S)

RESOURCES = (
    "school_district",
    "program",
    "program_membership",
    "user",
    "role",
    "student",
    "student_access",
    "goal",
    "health_note",
    "progress_event",
    "progress_report",
    "audit_event",
)
SCOPES = ("global", "district", "program", "assigned", "own")

ROLE_DESCRIPTIONS = {
    "system_admin": "Everything, including roles and permissions.",
    "district_admin": "Programs, staff accounts, memberships and roles of their districts; "
    "unlocks accounts; reads the audit trail.",
    "program_coordinator": "Every student of their programs; assigns staff to students; "
    "checks that reports are done.",
    "case_manager": "Their caseload: goals, progress events and progress reports.",
    "counselor": "Their students, with health and welfare notes and sensitive events.",
    "nurse": "Health notes for the students of their programs.",
    "auditor": "Reads who accessed which student's records, and exports it.",
}

# role -> resource -> [(actions, scope)]
_Grant = tuple[tuple[str, ...], str]
DEFAULT_MATRIX: dict[str, dict[str, list[_Grant]]] = {
    "system_admin": {
        **{resource: [(CRUD, "global")] for resource in RESOURCES if resource != "audit_event"},
        "progress_event": [((*CRUD, S), "global")],
        "audit_event": [((R,), "global")],
    },
    "district_admin": {
        "school_district": [((R, U), "district")],
        "program": [(CRUD, "district")],
        "program_membership": [(CRUD, "district")],
        "user": [((C, R, U), "district")],
        "role": [((R,), "global")],
        "student": [(CRUD, "district")],
        "student_access": [(CRUD, "district")],
        "goal": [(CRUD, "district")],
        "progress_event": [(CRUD, "district")],
        "progress_report": [(CRUD, "district")],
        "audit_event": [((R,), "district")],
    },
    "program_coordinator": {
        "school_district": [((R,), "district")],
        "program": [((R,), "program")],
        "program_membership": [((R,), "program")],
        "user": [((R,), "program")],
        "role": [((R,), "global")],
        "student": [((C, R, U), "program")],
        "student_access": [(CRUD, "program")],
        "goal": [((C, R, U), "program")],
        "progress_event": [((C, R), "program"), ((U, D), "own")],
        "progress_report": [((C, R, U), "program")],
    },
    "case_manager": {
        "program": [((R,), "program")],
        "user": [((R,), "program")],
        "student": [((R,), "assigned")],
        "student_access": [((R,), "assigned")],
        "goal": [(CRUD, "assigned")],
        "progress_event": [((C, R), "assigned"), ((U, D), "own")],
        "progress_report": [((C, R, U), "assigned")],
    },
    "counselor": {
        "program": [((R,), "program")],
        "user": [((R,), "program")],
        "student": [((R,), "assigned")],
        "student_access": [((R,), "assigned")],
        "goal": [(CRUD, "assigned")],
        "health_note": [((C, R), "assigned"), ((U, D), "own")],
        "progress_event": [((C, R, S), "assigned"), ((U, D), "own")],
        "progress_report": [((C, R, U), "assigned")],
    },
    "nurse": {
        "program": [((R,), "program")],
        "user": [((R,), "program")],
        "student": [((R,), "program")],
        "health_note": [((C, R), "program"), ((U, D), "own")],
    },
    "auditor": {
        "school_district": [((R,), "district")],
        "program": [((R,), "district")],
        "program_membership": [((R,), "district")],
        "user": [((R,), "district")],
        "role": [((R,), "global")],
        "student": [((R,), "district")],
        "student_access": [((R,), "district")],
        "audit_event": [((R,), "district")],
    },
}
# Every role reads and updates its own account (SPEC section 5).
OWN_ACCOUNT: list[_Grant] = [((R, U), "own")]


def default_grants() -> dict[str, set[tuple[str, str, str]]]:
    """role name -> {(resource, action, scope)}"""
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for role, resources in DEFAULT_MATRIX.items():
        triples = grants.setdefault(role, set())
        for resource, rows in resources.items():
            for actions, scope in rows:
                triples.update((resource, action, scope) for action in actions)
        for actions, scope in OWN_ACCOUNT:
            triples.update(("user", action, scope) for action in actions)
    return grants


def role_id_by_name(session: Session, name: str) -> int | None:
    return session.scalar(select(Role.id_role).where(Role.name == name))
