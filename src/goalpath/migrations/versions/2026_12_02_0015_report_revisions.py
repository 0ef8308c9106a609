"""Report revisions: the summary a report had before it was replaced, by whom and why
(extension, docs/schema.md; SPEC section 14).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "progress_report_revision",
        sa.Column("id_progress_report_revision", sa.Integer(), nullable=False),
        sa.Column("id_progress_report", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("drafted", sa.Boolean(), nullable=False),
        sa.Column("id_user_written", sa.Integer(), nullable=True),
        sa.Column("written_at", TIMESTAMP, nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("id_user_replaced", sa.Integer(), nullable=True),
        sa.Column("replaced_at", TIMESTAMP, nullable=False),
        sa.Column("withheld_reason", sa.String(40), nullable=True),
        sa.Column("withheld_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_progress_report"],
            ["progress_report.id_progress_report"],
            name="fk_progress_report_revision_id_progress_report_progress_report",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["id_user_written"],
            ["user.id_user"],
            name="fk_progress_report_revision_id_user_written_user",
        ),
        sa.ForeignKeyConstraint(
            ["id_user_replaced"],
            ["user.id_user"],
            name="fk_progress_report_revision_id_user_replaced_user",
        ),
        sa.PrimaryKeyConstraint("id_progress_report_revision", name="pk_progress_report_revision"),
        # Leads with the report, so it also serves that foreign key on MariaDB.
        sa.Index(
            "ix_progress_report_revision_report",
            "id_progress_report",
            "id_progress_report_revision",
        ),
    )


def downgrade() -> None:
    # Dropping the table drops its foreign keys with it, so MariaDB never sees the
    # index that backs one go first.
    op.drop_table("progress_report_revision")
