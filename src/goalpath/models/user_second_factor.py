from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class UserSecondFactor(Base):
    """A user's TOTP secret (extension table, SPEC section 12), one per account.

    The secret is Fernet-encrypted with the health-note keys: whoever reads the table
    alone cannot mint codes. `last_used_step` is the latest accepted time step, so a
    code is accepted once (RFC 6238 section 5.2)."""

    __tablename__ = "user_second_factor"

    id_user: Mapped[int] = mapped_column(ForeignKey("user.id_user"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
