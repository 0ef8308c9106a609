from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class PasswordHistory(Base):
    __tablename__ = "password_history"
    __table_args__ = (Index("idx_user_created", "id_user", "created_at"),)

    id_password_history: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
