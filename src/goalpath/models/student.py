from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class Student(Base):
    """A student, known only by the district's identifier: no names (SPEC section 2).

    The database holds `identifier` unique per program; the district-wide rule is the
    student service's.
    """

    __tablename__ = "student"
    __table_args__ = (UniqueConstraint("id_program", "identifier"),)

    id_student: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_program: Mapped[int | None] = mapped_column(ForeignKey("program.id_program"), index=True)
    identifier: Mapped[str | None] = mapped_column(String(50))
    program_year: Mapped[int | None] = mapped_column(Integer)
    enrollment_date: Mapped[date | None] = mapped_column(Date)
    expected_grad: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime | None] = mapped_column(UTCTimestamp, default=utcnow)
    # Extension (docs/schema.md; SPEC section 15): a student who left is marked, never
    # deleted, so their goals and reports stay with the district.
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
