from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class UserSession(Base):
    """A signed-in session (extension table: SPEC section 3 keeps sessions in the
    database so app servers stay stateless). Only the token's SHA-256 is stored."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_id_user_revoked_at", "id_user", "revoked_at"),)

    id_user_session: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int] = mapped_column(ForeignKey("user.id_user"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    revoked_reason: Mapped[str | None] = mapped_column(String(30))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
