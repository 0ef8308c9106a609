from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class User(Base):
    """A staff account. `email` is stored lower-cased and unique (SPEC section 2).

    `password_hash` is deferred: it is loaded only where a password is checked.
    """

    __tablename__ = "user"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id_user: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_role: Mapped[int | None] = mapped_column(ForeignKey("role.id_role"), index=True)
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = deferred(mapped_column(String(255)), raiseload=True)
    password_updated_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    failed_login_attempts: Mapped[int | None] = mapped_column(
        Integer, server_default=text("0"), default=0
    )
    locked_until: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    # Extension (docs/schema.md): staff who authored records are deactivated, never
    # deleted; a deactivated account cannot sign in and its sessions are ended.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    # Extension (docs/schema.md; SPEC section 11): the district the account belongs to.
    # Only a system administrator's account has none; it is then visible at global scope.
    id_school_district_home: Mapped[int | None] = mapped_column(
        ForeignKey("school_district.id_school_district"), index=True
    )

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None
