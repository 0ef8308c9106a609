from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class AuditEvent(Base):
    """The append-only audit trail (extension table; SPEC section 6, FERPA 34 CFR 99.32).

    No foreign keys on purpose: a row must outlive anything it mentions, and it is
    written even for requests that are refused or rolled back."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_id_student_occurred_at", "id_student", "occurred_at"),
        Index("ix_audit_event_id_user_occurred_at", "id_user", "occurred_at"),
        Index("ix_audit_event_occurred_at", "occurred_at"),
    )

    id_audit_event: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)
    id_user: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(50), nullable=False)
    resource: Mapped[str] = mapped_column(String(50), nullable=False)
    record_id: Mapped[str | None] = mapped_column(String(64))
    id_student: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="allowed")
    details: Mapped[str | None] = mapped_column(Text)
