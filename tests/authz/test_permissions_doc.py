"""docs/permissions.md shows exactly the rights the migrations create."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from goalpath.db import Database
from goalpath.models import Permission, Role, RolePermission

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
LETTERS = {"C": "create", "R": "read", "U": "update", "D": "delete", "S": "read_sensitive"}


def documented() -> dict[str, set[tuple[str, str, str]]]:
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    roles = header[1:]
    grants: dict[str, set[tuple[str, str, str]]] = {role: set() for role in roles}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == "resource":
            break
        resource = cells[0]
        for role, cell in zip(roles, cells[1:], strict=True):
            if cell in ("\u2013", ""):  # an en dash marks no rights
                continue
            for part in cell.split(","):
                letters, scope = part.split()
                grants[role].update((resource, LETTERS[letter], scope) for letter in letters)
    return grants


def test_doc_matrix_matches_the_database(database: Database) -> None:
    with database.session_scope() as session:
        rows = session.execute(
            select(Role.name, Permission.resource, Permission.action, Permission.scope)
            .join(RolePermission, RolePermission.id_role == Role.id_role)
            .join(Permission, Permission.id_permission == RolePermission.id_permission)
        ).all()
    actual: dict[str, set[tuple[str, str, str]]] = {}
    for role, resource, action, scope in rows:
        actual.setdefault(role, set()).add((resource, action, scope))
    assert documented() == actual
