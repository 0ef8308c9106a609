from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class SchoolDistrict(Base):
    __tablename__ = "school_district"

    id_school_district: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
