"""A district's report periods per school year, from its roster (extension,
docs/schema.md; SPEC sections 8 and 15).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_period",
        sa.Column("id_report_period", sa.Integer(), nullable=False),
        sa.Column("id_school_district", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["id_school_district"],
            ["school_district.id_school_district"],
            name="fk_report_period_id_school_district_school_district",
        ),
        sa.PrimaryKeyConstraint("id_report_period", name="pk_report_period"),
        # Leads with the district, so it also serves the foreign key on MariaDB.
        sa.UniqueConstraint(
            "id_school_district",
            "year",
            "name",
            name="uq_report_period_id_school_district_year_name",
        ),
    )


def downgrade() -> None:
    # Dropping the table drops its foreign key with it, so MariaDB never sees the
    # unique key that backs the foreign key go first.
    op.drop_table("report_period")
