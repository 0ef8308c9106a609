from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class Role(Base):
    __tablename__ = "role"

    id_role: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    # Extension (SPEC section 12): its holders must sign in with a second factor.
    requires_second_factor: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false(), default=False
    )
