from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class Program(Base):
    __tablename__ = "program"

    id_program: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_school_district: Mapped[int | None] = mapped_column(
        ForeignKey("school_district.id_school_district"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
