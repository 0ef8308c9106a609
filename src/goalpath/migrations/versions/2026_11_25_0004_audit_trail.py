"""The append-only audit trail (extension, docs/schema.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id_audit_event", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("resource", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id_audit_event", name=op.f("pk_audit_event")),
    )
    op.create_index(
        "ix_audit_event_id_student_occurred_at", "audit_event", ["id_student", "occurred_at"]
    )
    op.create_index("ix_audit_event_id_user_occurred_at", "audit_event", ["id_user", "occurred_at"])
    op.create_index("ix_audit_event_occurred_at", "audit_event", ["occurred_at"])


def downgrade() -> None:
    op.drop_table("audit_event")
