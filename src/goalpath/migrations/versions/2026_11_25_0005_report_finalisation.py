"""Report finalisation (extension, docs/schema.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("progress_report") as batch:
        batch.add_column(sa.Column("finalized_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("id_user_finalized", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_progress_report_id_user_finalized_user", "user", ["id_user_finalized"], ["id_user"]
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_report") as batch:
        batch.drop_constraint("fk_progress_report_id_user_finalized_user", type_="foreignkey")
        batch.drop_column("id_user_finalized")
        batch.drop_column("finalized_at")
