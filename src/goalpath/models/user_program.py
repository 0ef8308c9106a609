from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class UserProgram(Base):
    """A staff member's membership of a program; only `active` ones grant access."""

    __tablename__ = "user_program"
    __table_args__ = (
        UniqueConstraint("id_user", "id_program", name="uq_user_program"),
        Index("idx_id_program", "id_program"),
    )

    id_user_program: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    id_program: Mapped[int | None] = mapped_column(ForeignKey("program.id_program"))
    is_primary: Mapped[bool | None] = mapped_column(Boolean, server_default=false(), default=False)
    status: Mapped[str | None] = mapped_column(
        String(20), server_default=text("'active'"), default="active"
    )
    joined_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
