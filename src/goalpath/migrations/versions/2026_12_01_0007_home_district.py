"""A home district on every staff account (extension, docs/schema.md; SPEC section 11).

Existing accounts take the district of their earliest program membership; accounts in
no program keep none (only a system administrator sees those).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("id_school_district_home", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_user_id_school_district_home_school_district",
            "school_district",
            ["id_school_district_home"],
            ["id_school_district"],
        )
        batch.create_index("ix_user_id_school_district_home", ["id_school_district_home"])
    user = sa.table(
        "user",
        sa.column("id_user", sa.Integer),
        sa.column("id_school_district_home", sa.Integer),
    )
    user_program = sa.table(
        "user_program",
        sa.column("id_user_program", sa.Integer),
        sa.column("id_user", sa.Integer),
        sa.column("id_program", sa.Integer),
    )
    program = sa.table(
        "program",
        sa.column("id_program", sa.Integer),
        sa.column("id_school_district", sa.Integer),
    )
    earliest = (
        sa.select(program.c.id_school_district)
        .select_from(user_program.join(program, program.c.id_program == user_program.c.id_program))
        .where(user_program.c.id_user == user.c.id_user)
        .order_by(user_program.c.id_user_program)
        .limit(1)
        .scalar_subquery()
    )
    op.execute(user.update().values(id_school_district_home=earliest))


def downgrade() -> None:
    # The foreign key first: MariaDB keeps an index while a constraint needs it.
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint("fk_user_id_school_district_home_school_district", type_="foreignkey")
    with op.batch_alter_table("user") as batch:
        batch.drop_index("ix_user_id_school_district_home")
        batch.drop_column("id_school_district_home")
