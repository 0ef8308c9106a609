"""Default roles and permissions (SPEC section 5); editable afterwards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The matrix lives in goalpath.authz.roles. This migration inserts whatever of it is
missing, so running it on a database where an administrator edited the roles adds
nothing they removed on purpose only when it was never there; later changes to the
defaults come as new migrations.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from goalpath.authz.roles import ROLE_DESCRIPTIONS, default_grants

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

permission = sa.table(
    "permission",
    sa.column("id_permission", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("resource", sa.String),
    sa.column("action", sa.String),
    sa.column("scope", sa.String),
)
role = sa.table(
    "role",
    sa.column("id_role", sa.Integer),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("created_at", sa.TIMESTAMP),
)
role_permission = sa.table(
    "role_permission",
    sa.column("id_role", sa.Integer),
    sa.column("id_permission", sa.Integer),
)


def upgrade() -> None:
    connection = op.get_bind()
    grants = default_grants()
    now = datetime.now(UTC).replace(tzinfo=None)
    triples = sorted({triple for role_grants in grants.values() for triple in role_grants})
    existing = {
        (row.resource, row.action, row.scope)
        for row in connection.execute(
            sa.select(permission.c.resource, permission.c.action, permission.c.scope)
        )
    }
    missing = [triple for triple in triples if triple not in existing]
    if missing:
        op.bulk_insert(
            permission,
            [
                {
                    "name": f"{resource}:{action}:{scope}",
                    "description": f"{action} {resource.replace('_', ' ')} records, {scope} scope",
                    "resource": resource,
                    "action": action,
                    "scope": scope,
                }
                for resource, action, scope in missing
            ],
        )
    permission_ids = {
        (row.resource, row.action, row.scope): row.id_permission
        for row in connection.execute(
            sa.select(
                permission.c.id_permission,
                permission.c.resource,
                permission.c.action,
                permission.c.scope,
            )
        )
    }
    existing_roles = {row.name for row in connection.execute(sa.select(role.c.name))}
    new_roles = [name for name in ROLE_DESCRIPTIONS if name not in existing_roles]
    if new_roles:
        op.bulk_insert(
            role,
            [
                {"name": name, "description": ROLE_DESCRIPTIONS[name], "created_at": now}
                for name in new_roles
            ],
        )
    role_ids = {
        row.name: row.id_role for row in connection.execute(sa.select(role.c.id_role, role.c.name))
    }
    links = [
        {"id_role": role_ids[name], "id_permission": permission_ids[triple]}
        for name in new_roles
        for triple in sorted(grants[name])
    ]
    if links:
        op.bulk_insert(role_permission, links)


def downgrade() -> None:
    connection = op.get_bind()
    names = list(ROLE_DESCRIPTIONS)
    role_ids = sa.select(role.c.id_role).where(role.c.name.in_(names)).scalar_subquery()
    user = sa.table("user", sa.column("id_role", sa.Integer))
    connection.execute(sa.update(user).where(user.c.id_role.in_(role_ids)).values(id_role=None))
    connection.execute(sa.delete(role_permission).where(role_permission.c.id_role.in_(role_ids)))
    connection.execute(sa.delete(role).where(role.c.name.in_(names)))
    triples = sorted(
        {triple for role_grants in default_grants().values() for triple in role_grants}
    )
    for resource, action, scope in triples:
        unused = ~sa.exists().where(role_permission.c.id_permission == permission.c.id_permission)
        connection.execute(
            sa.delete(permission).where(
                permission.c.resource == resource,
                permission.c.action == action,
                permission.c.scope == scope,
                unused,
            )
        )
