"""TOTP second factor, recovery codes, sign-in challenges and the per-role requirement
(extensions, docs/schema.md; SPEC section 12).

Roles that read health notes require a second factor from now on (ASVS 5.0 L2 asks for
more than a password in front of records like these).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "user_second_factor",
        sa.Column("id_user", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("confirmed_at", TIMESTAMP, nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_user_second_factor_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_user", name=op.f("pk_user_second_factor")),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id_recovery_code", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_recovery_code_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_recovery_code", name=op.f("pk_recovery_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_code_code_hash")),
    )
    op.create_index("ix_recovery_code_id_user", "recovery_code", ["id_user"])
    op.create_table(
        "second_factor_challenge",
        sa.Column("id_second_factor_challenge", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=False),
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_second_factor_challenge_id_user_user")
        ),
        sa.PrimaryKeyConstraint(
            "id_second_factor_challenge", name=op.f("pk_second_factor_challenge")
        ),
        sa.UniqueConstraint(
            "challenge_hash", name=op.f("uq_second_factor_challenge_challenge_hash")
        ),
    )
    op.create_index("ix_second_factor_challenge_id_user", "second_factor_challenge", ["id_user"])
    # Never a copy-and-swap on SQLite: the default roles' rows are referenced by
    # role_permission, and with foreign keys on, dropping the old table would fail.
    # ADD COLUMN with a constant default needs no copy on any backend.
    with op.batch_alter_table("role", recreate="never") as batch:
        batch.add_column(
            sa.Column(
                "requires_second_factor", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    role = sa.table(
        "role",
        sa.column("id_role", sa.Integer),
        sa.column("requires_second_factor", sa.Boolean),
    )
    role_permission = sa.table(
        "role_permission",
        sa.column("id_role", sa.Integer),
        sa.column("id_permission", sa.Integer),
    )
    permission = sa.table(
        "permission",
        sa.column("id_permission", sa.Integer),
        sa.column("resource", sa.String),
        sa.column("action", sa.String),
    )
    health_note_readers = (
        sa.select(role_permission.c.id_role)
        .select_from(
            role_permission.join(
                permission, permission.c.id_permission == role_permission.c.id_permission
            )
        )
        .where(permission.c.resource == "health_note", permission.c.action == "read")
    )
    op.execute(
        role.update()
        .where(role.c.id_role.in_(health_note_readers))
        .values(requires_second_factor=sa.true())
    )


def downgrade() -> None:
    with op.batch_alter_table("role") as batch:
        batch.drop_column("requires_second_factor")
    op.drop_table("second_factor_challenge")
    op.drop_table("recovery_code")
    op.drop_table("user_second_factor")
