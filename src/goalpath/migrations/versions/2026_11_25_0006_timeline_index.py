"""Index for a student's progress timeline (extension, docs/schema.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_progress_event_id_student_created_at",
        "progress_event",
        ["id_student", "created_at", "id_progress_event"],
    )


def downgrade() -> None:
    op.drop_index("ix_progress_event_id_student_created_at", table_name="progress_event")
