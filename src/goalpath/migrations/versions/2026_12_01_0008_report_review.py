"""A final report waits for review after an event it quoted became sensitive
(extension, docs/schema.md; SPEC section 14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("progress_report") as batch:
        batch.add_column(sa.Column("review_reason", sa.String(255), nullable=True))
        batch.add_column(sa.Column("review_requested_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("progress_report") as batch:
        batch.drop_column("review_requested_at")
        batch.drop_column("review_reason")
