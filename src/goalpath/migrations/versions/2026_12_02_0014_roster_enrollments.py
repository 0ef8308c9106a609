"""Roster import: the enrollments last imported, so a delta's `tobedeleted` ends the
caseload links made from classes (extension, docs/schema.md; SPEC section 15).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_enrollment",
        sa.Column("id_roster_enrollment", sa.Integer(), nullable=False),
        sa.Column("id_school_district", sa.Integer(), nullable=False),
        sa.Column("sourced_id", sa.String(255), nullable=False),
        sa.Column("class_sourced_id", sa.String(255), nullable=False),
        sa.Column("user_sourced_id", sa.String(255), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.ForeignKeyConstraint(
            ["id_school_district"],
            ["school_district.id_school_district"],
            name="fk_roster_enrollment_id_school_district_school_district",
        ),
        sa.PrimaryKeyConstraint("id_roster_enrollment", name="pk_roster_enrollment"),
        # Leads with the district, so it also serves the foreign key on MariaDB.
        sa.UniqueConstraint(
            "id_school_district",
            "sourced_id",
            name="uq_roster_enrollment_id_school_district_sourced_id",
        ),
    )
    op.create_index(
        "ix_roster_enrollment_id_school_district_class_sourced_id",
        "roster_enrollment",
        ["id_school_district", "class_sourced_id"],
    )
    op.create_index(
        "ix_roster_enrollment_id_school_district_user_sourced_id",
        "roster_enrollment",
        ["id_school_district", "user_sourced_id"],
    )


def downgrade() -> None:
    # Dropping the table drops its indexes and foreign key with it (MariaDB keeps the
    # key that backs a foreign key until the foreign key goes).
    op.drop_table("roster_enrollment")
