"""Each district's time zone and country, for the times and dates its pages show
(extension, docs/schema.md; SPEC section 14).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("school_district") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(64), server_default="America/New_York", nullable=False)
        )
        batch.add_column(
            sa.Column("country_code", sa.String(2), server_default="US", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("school_district") as batch:
        batch.drop_column("country_code")
        batch.drop_column("time_zone")
