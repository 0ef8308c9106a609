from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp


class ProgressReportRevision(Base):
    """A report's summary as it was before something replaced it (extension, SPEC
    section 14: nothing a person wrote is lost).

    The newest revision of a report also says who wrote the text it has now: the
    person who replaced it (`reason` edited) or the drafting (any other reason). A
    revision that may quote an event since marked sensitive is withheld: only readers of
    the student's sensitive events see its text.
    """

    __tablename__ = "progress_report_revision"
    __table_args__ = (
        # Leads with the report, so it also serves the foreign key on MariaDB; named,
        # because the convention's name would pass PostgreSQL's 63 characters.
        Index(
            "ix_progress_report_revision_report",
            "id_progress_report",
            "id_progress_report_revision",
        ),
    )

    id_progress_report_revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_progress_report: Mapped[int] = mapped_column(
        ForeignKey("progress_report.id_progress_report", ondelete="CASCADE"), nullable=False
    )
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    # Who wrote the replaced text: the drafting, or a person (NULL when not known).
    drafted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    id_user_written: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    written_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    # Why and by whom it was replaced: edited, drafted_again, event_marked_sensitive.
    reason: Mapped[str] = mapped_column(String(40), nullable=False)
    id_user_replaced: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"))
    replaced_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False)
    withheld_reason: Mapped[str | None] = mapped_column(String(40))
    withheld_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
