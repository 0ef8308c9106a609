from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class SecondFactorChallenge(Base):
    """The half-done sign-in between a right password and its code (extension table,
    SPEC section 12). Only the challenge's SHA-256 is stored; `attempts` is counted in
    SQL before each code is checked, so the challenge dies after its fifth code even
    under concurrent guesses."""

    __tablename__ = "second_factor_challenge"
    __table_args__ = (Index("ix_second_factor_challenge_id_user", "id_user"),)

    id_second_factor_challenge: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int] = mapped_column(ForeignKey("user.id_user"), nullable=False)
    challenge_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False)
    attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default=text("0"), default=0
    )
    used_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
