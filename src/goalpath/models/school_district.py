from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow

DEFAULT_TIME_ZONE = "America/New_York"


class SchoolDistrict(Base):
    __tablename__ = "school_district"

    id_school_district: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    # Extension (docs/schema.md): the pages show times in the district's zone, and dates
    # in US form for US districts (SPEC section 14).
    time_zone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )
    country_code: Mapped[str] = mapped_column(String(2), default="US", server_default="US")
