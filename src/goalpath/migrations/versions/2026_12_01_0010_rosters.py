"""Roster import: sourcedId mapping and student withdrawal (extension, docs/schema.md;
SPEC section 15).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_source",
        sa.Column("id_roster_source", sa.Integer(), nullable=False),
        sa.Column("id_school_district", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("sourced_id", sa.String(255), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id_school_district"],
            ["school_district.id_school_district"],
            name="fk_roster_source_id_school_district_school_district",
        ),
        sa.PrimaryKeyConstraint("id_roster_source", name="pk_roster_source"),
        sa.UniqueConstraint(
            "id_school_district",
            "kind",
            "sourced_id",
            name="uq_roster_source_id_school_district_kind_sourced_id",
        ),
    )
    with op.batch_alter_table("student") as batch:
        batch.add_column(sa.Column("withdrawn_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("student") as batch:
        batch.drop_column("withdrawn_on")
    op.drop_table("roster_source")
