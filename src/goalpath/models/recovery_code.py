from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class RecoveryCode(Base):
    """A one-time recovery code (extension table, SPEC section 12), stored as its
    SHA-256 only: codes are random with about 79 bits of entropy, so unlike passwords they
    need no slow hash to resist guessing from a stolen table."""

    __tablename__ = "recovery_code"
    __table_args__ = (Index("ix_recovery_code_id_user", "id_user"),)

    id_recovery_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int] = mapped_column(ForeignKey("user.id_user"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
