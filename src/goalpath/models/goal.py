from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class Goal(Base):
    """A goal in a student's goal tree.

    The composite foreign key (id_goal_parent, id_student) -> goal(id_goal, id_student)
    makes the database itself refuse a parent that belongs to another student; cycles
    are refused by the goal service.
    """

    __tablename__ = "goal"
    __table_args__ = (
        UniqueConstraint("id_goal", "id_student", name="uq_goal_id_goal_id_student"),
        ForeignKeyConstraint(
            ["id_goal_parent", "id_student"],
            ["goal.id_goal", "goal.id_student"],
            name="fk_goal_parent_same_student",
        ),
        Index("ix_goal_id_goal_parent_id_student", "id_goal_parent", "id_student"),
    )

    id_goal: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_goal_parent: Mapped[int | None] = mapped_column(ForeignKey("goal.id_goal"))
    id_student: Mapped[int | None] = mapped_column(ForeignKey("student.id_student"), index=True)
    id_user_created: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"), index=True)
    title: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCTimestamp, default=utcnow, onupdate=utcnow
    )
