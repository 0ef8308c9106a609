from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp


class ProgressReport(Base):
    """One goal of one student for one reporting period (SPEC section 8)."""

    __tablename__ = "progress_report"
    __table_args__ = (UniqueConstraint("id_student", "id_goal", "period", "year"),)

    id_progress_report: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_student: Mapped[int | None] = mapped_column(ForeignKey("student.id_student"), index=True)
    id_goal: Mapped[int | None] = mapped_column(ForeignKey("goal.id_goal"), index=True)
    id_user_created: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"), index=True)
    period: Mapped[str | None] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    generated_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    # Extension (docs/schema.md): a final report is read-only until reopened.
    finalized_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    id_user_finalized: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    # Extension (docs/schema.md): set when an event the report quoted became sensitive;
    # while set, no export carries the summary. Finalising clears it.
    review_reason: Mapped[str | None] = mapped_column(String(255))
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
