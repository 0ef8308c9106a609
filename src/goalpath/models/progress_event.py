from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class ProgressEvent(Base):
    __tablename__ = "progress_event"
    # A student's timeline is read newest first, page by page: this index makes every
    # page, the first or the hundredth, one range scan (docs/schema.md).
    __table_args__ = (
        Index(
            "ix_progress_event_id_student_created_at",
            "id_student",
            "created_at",
            "id_progress_event",
        ),
    )

    id_progress_event: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_student: Mapped[int | None] = mapped_column(ForeignKey("student.id_student"), index=True)
    id_goal: Mapped[int | None] = mapped_column(ForeignKey("goal.id_goal"), index=True)
    id_user_created: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    is_sensitive: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCTimestamp, default=utcnow, onupdate=utcnow
    )
