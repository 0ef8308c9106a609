"""The 15 tables of the seed, with the constraints SPEC section 2 adds.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# The seed's `timestamp`, microsecond precision on MariaDB/MySQL; values are UTC.
TIMESTAMP = sa.TIMESTAMP().with_variant(mysql.TIMESTAMP(fsp=6), "mysql", "mariadb")


def _reset_token_index_name() -> str:
    """The seed's name where index names are per table (MariaDB/MySQL), else a unique one."""
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        return "idx_user_created"
    return "idx_password_reset_token_user_created"


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permission",
        sa.Column("id_permission", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("resource", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=True),
        sa.Column("scope", sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint("id_permission", name=op.f("pk_permission")),
        sa.UniqueConstraint(
            "resource", "action", "scope", name=op.f("uq_permission_resource_action_scope")
        ),
    )
    op.create_table(
        "role",
        sa.Column("id_role", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id_role", name=op.f("pk_role")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    op.create_table(
        "school_district",
        sa.Column("id_school_district", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("contact_email", sa.String(length=255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id_school_district", name=op.f("pk_school_district")),
    )
    op.create_table(
        "program",
        sa.Column("id_program", sa.Integer(), nullable=False),
        sa.Column("id_school_district", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_school_district"],
            ["school_district.id_school_district"],
            name=op.f("fk_program_id_school_district_school_district"),
        ),
        sa.PrimaryKeyConstraint("id_program", name=op.f("pk_program")),
    )
    op.create_index(op.f("ix_program_id_school_district"), "program", ["id_school_district"])

    op.create_table(
        "role_permission",
        sa.Column("id_role_permission", sa.Integer(), nullable=False),
        sa.Column("id_role", sa.Integer(), nullable=True),
        sa.Column("id_permission", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id_permission"],
            ["permission.id_permission"],
            name=op.f("fk_role_permission_id_permission_permission"),
        ),
        sa.ForeignKeyConstraint(
            ["id_role"], ["role.id_role"], name=op.f("fk_role_permission_id_role_role")
        ),
        sa.PrimaryKeyConstraint("id_role_permission", name=op.f("pk_role_permission")),
        sa.UniqueConstraint(
            "id_role", "id_permission", name=op.f("uq_role_permission_id_role_id_permission")
        ),
    )
    op.create_index(op.f("ix_role_permission_id_permission"), "role_permission", ["id_permission"])
    op.create_index(op.f("ix_role_permission_id_role"), "role_permission", ["id_role"])

    op.create_table(
        "user",
        sa.Column("id_user", sa.Integer(), nullable=False),
        sa.Column("id_role", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("password_updated_at", TIMESTAMP, nullable=True),
        sa.Column(
            "failed_login_attempts", sa.Integer(), server_default=sa.text("0"), nullable=True
        ),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_user_email_lowercase")),
        sa.ForeignKeyConstraint(["id_role"], ["role.id_role"], name=op.f("fk_user_id_role_role")),
        sa.PrimaryKeyConstraint("id_user", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
    )
    op.create_index(op.f("ix_user_id_role"), "user", ["id_role"])

    op.create_table(
        "password_history",
        sa.Column("id_password_history", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_password_history_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_password_history", name=op.f("pk_password_history")),
    )
    op.create_index("idx_user_created", "password_history", ["id_user", "created_at"])

    op.create_table(
        "password_reset_token",
        sa.Column("id_password_reset_token", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=255), nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Column("invalidated_at", TIMESTAMP, nullable=True),
        sa.Column("request_ip", sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_password_reset_token_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_password_reset_token", name=op.f("pk_password_reset_token")),
        sa.UniqueConstraint("token_hash", name="uq_token_hash"),
    )
    op.create_index(_reset_token_index_name(), "password_reset_token", ["id_user", "created_at"])

    op.create_table(
        "student",
        sa.Column("id_student", sa.Integer(), nullable=False),
        sa.Column("id_program", sa.Integer(), nullable=True),
        sa.Column("identifier", sa.String(length=50), nullable=True),
        sa.Column("program_year", sa.Integer(), nullable=True),
        sa.Column("enrollment_date", sa.Date(), nullable=True),
        sa.Column("expected_grad", sa.Date(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_program"], ["program.id_program"], name=op.f("fk_student_id_program_program")
        ),
        sa.PrimaryKeyConstraint("id_student", name=op.f("pk_student")),
        sa.UniqueConstraint(
            "id_program", "identifier", name=op.f("uq_student_id_program_identifier")
        ),
    )
    op.create_index(op.f("ix_student_id_program"), "student", ["id_program"])

    op.create_table(
        "user_program",
        sa.Column("id_user_program", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=True),
        sa.Column("id_program", sa.Integer(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'active'"), nullable=True
        ),
        sa.Column("joined_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_program"], ["program.id_program"], name=op.f("fk_user_program_id_program_program")
        ),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_user_program_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_user_program", name=op.f("pk_user_program")),
        sa.UniqueConstraint("id_user", "id_program", name="uq_user_program"),
    )
    op.create_index("idx_id_program", "user_program", ["id_program"])

    op.create_table(
        "goal",
        sa.Column("id_goal", sa.Integer(), nullable=False),
        sa.Column("id_goal_parent", sa.Integer(), nullable=True),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("id_user_created", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_goal_parent", "id_student"],
            ["goal.id_goal", "goal.id_student"],
            name="fk_goal_parent_same_student",
        ),
        sa.ForeignKeyConstraint(
            ["id_goal_parent"], ["goal.id_goal"], name=op.f("fk_goal_id_goal_parent_goal")
        ),
        sa.ForeignKeyConstraint(
            ["id_student"], ["student.id_student"], name=op.f("fk_goal_id_student_student")
        ),
        sa.ForeignKeyConstraint(
            ["id_user_created"], ["user.id_user"], name=op.f("fk_goal_id_user_created_user")
        ),
        sa.PrimaryKeyConstraint("id_goal", name=op.f("pk_goal")),
        sa.UniqueConstraint("id_goal", "id_student", name="uq_goal_id_goal_id_student"),
    )
    op.create_index("ix_goal_id_goal_parent_id_student", "goal", ["id_goal_parent", "id_student"])
    op.create_index(op.f("ix_goal_id_student"), "goal", ["id_student"])
    op.create_index(op.f("ix_goal_id_user_created"), "goal", ["id_user_created"])

    op.create_table(
        "health_note",
        sa.Column("id_health_note", sa.Integer(), nullable=False),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("id_user_created", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_student"], ["student.id_student"], name=op.f("fk_health_note_id_student_student")
        ),
        sa.ForeignKeyConstraint(
            ["id_user_created"], ["user.id_user"], name=op.f("fk_health_note_id_user_created_user")
        ),
        sa.PrimaryKeyConstraint("id_health_note", name=op.f("pk_health_note")),
    )
    op.create_index(op.f("ix_health_note_id_student"), "health_note", ["id_student"])
    op.create_index(op.f("ix_health_note_id_user_created"), "health_note", ["id_user_created"])

    op.create_table(
        "user_student",
        sa.Column("id_user_student", sa.Integer(), nullable=False),
        sa.Column("id_user", sa.Integer(), nullable=True),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("access_level", sa.String(length=50), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id_student"], ["student.id_student"], name=op.f("fk_user_student_id_student_student")
        ),
        sa.ForeignKeyConstraint(
            ["id_user"], ["user.id_user"], name=op.f("fk_user_student_id_user_user")
        ),
        sa.PrimaryKeyConstraint("id_user_student", name=op.f("pk_user_student")),
        sa.UniqueConstraint(
            "id_user", "id_student", name=op.f("uq_user_student_id_user_id_student")
        ),
    )
    op.create_index(op.f("ix_user_student_id_student"), "user_student", ["id_student"])
    op.create_index(op.f("ix_user_student_id_user"), "user_student", ["id_user"])

    op.create_table(
        "progress_event",
        sa.Column("id_progress_event", sa.Integer(), nullable=False),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("id_goal", sa.Integer(), nullable=True),
        sa.Column("id_user_created", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("is_sensitive", sa.Boolean(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_goal"], ["goal.id_goal"], name=op.f("fk_progress_event_id_goal_goal")
        ),
        sa.ForeignKeyConstraint(
            ["id_student"],
            ["student.id_student"],
            name=op.f("fk_progress_event_id_student_student"),
        ),
        sa.ForeignKeyConstraint(
            ["id_user_created"],
            ["user.id_user"],
            name=op.f("fk_progress_event_id_user_created_user"),
        ),
        sa.PrimaryKeyConstraint("id_progress_event", name=op.f("pk_progress_event")),
    )
    op.create_index(op.f("ix_progress_event_id_goal"), "progress_event", ["id_goal"])
    op.create_index(op.f("ix_progress_event_id_student"), "progress_event", ["id_student"])
    op.create_index(
        op.f("ix_progress_event_id_user_created"), "progress_event", ["id_user_created"]
    )

    op.create_table(
        "progress_report",
        sa.Column("id_progress_report", sa.Integer(), nullable=False),
        sa.Column("id_student", sa.Integer(), nullable=True),
        sa.Column("id_goal", sa.Integer(), nullable=True),
        sa.Column("id_user_created", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("generated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["id_goal"], ["goal.id_goal"], name=op.f("fk_progress_report_id_goal_goal")
        ),
        sa.ForeignKeyConstraint(
            ["id_student"],
            ["student.id_student"],
            name=op.f("fk_progress_report_id_student_student"),
        ),
        sa.ForeignKeyConstraint(
            ["id_user_created"],
            ["user.id_user"],
            name=op.f("fk_progress_report_id_user_created_user"),
        ),
        sa.PrimaryKeyConstraint("id_progress_report", name=op.f("pk_progress_report")),
        sa.UniqueConstraint(
            "id_student",
            "id_goal",
            "period",
            "year",
            name=op.f("uq_progress_report_id_student_id_goal_period_year"),
        ),
    )
    op.create_index(op.f("ix_progress_report_id_goal"), "progress_report", ["id_goal"])
    op.create_index(op.f("ix_progress_report_id_student"), "progress_report", ["id_student"])
    op.create_index(
        op.f("ix_progress_report_id_user_created"), "progress_report", ["id_user_created"]
    )


def downgrade() -> None:

    op.drop_table("progress_report")

    op.drop_table("progress_event")

    op.drop_table("user_student")

    op.drop_table("health_note")

    op.drop_table("goal")

    op.drop_table("user_program")

    op.drop_table("student")

    op.drop_table("password_reset_token")

    op.drop_table("password_history")

    op.drop_table("user")

    op.drop_table("role_permission")

    op.drop_table("program")
    op.drop_table("school_district")
    op.drop_table("role")
    op.drop_table("permission")
