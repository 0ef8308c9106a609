from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class HealthNote(Base):
    """Restricted health or welfare note; `content` is stored encrypted."""

    __tablename__ = "health_note"

    id_health_note: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_student: Mapped[int | None] = mapped_column(ForeignKey("student.id_student"), index=True)
    id_user_created: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
