from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow

# The seed names this index `idx_user_created`, like the one on password_history.
# Index names are per table on MariaDB/MySQL but per database on PostgreSQL and SQLite,
# so the migration keeps the seed's name on MariaDB/MySQL and uses this one elsewhere
# (docs/schema.md, "Index names").
RESET_TOKEN_INDEX_NAME = "idx_password_reset_token_user_created"


class PasswordResetToken(Base):
    """Only the SHA-256 of a reset token is stored (SPEC section 4)."""

    __tablename__ = "password_reset_token"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_token_hash"),
        Index(RESET_TOKEN_INDEX_NAME, "id_user", "created_at"),
    )

    id_password_reset_token: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    token_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    request_ip: Mapped[str | None] = mapped_column(String(45))
