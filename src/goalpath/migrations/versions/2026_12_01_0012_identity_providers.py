"""District sign-in with OpenID Connect: each district's identity providers
(extension, docs/schema.md; SPEC section 12).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "identity_provider",
        sa.Column("id_identity_provider", sa.Integer(), nullable=False),
        sa.Column("id_school_district", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("allowed_domains", sa.Text(), nullable=False),
        sa.Column("trust_mfa", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["id_school_district"],
            ["school_district.id_school_district"],
            name="fk_identity_provider_id_school_district_school_district",
        ),
        sa.PrimaryKeyConstraint("id_identity_provider", name="pk_identity_provider"),
    )
    op.create_index(
        "ix_identity_provider_id_school_district", "identity_provider", ["id_school_district"]
    )


def downgrade() -> None:
    # The foreign key first: MariaDB keeps an index while a constraint needs it.
    with op.batch_alter_table("identity_provider") as batch:
        batch.drop_constraint(
            "fk_identity_provider_id_school_district_school_district", type_="foreignkey"
        )
    op.drop_index("ix_identity_provider_id_school_district", table_name="identity_provider")
    op.drop_table("identity_provider")
