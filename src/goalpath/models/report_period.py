from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class ReportPeriod(Base):
    """A district's own report period for one school year, from its roster's
    gradingPeriod and term sessions (extension, SPEC sections 8 and 15).

    `year` is the calendar year the school year starts in, as `progress_report.year`;
    `name` is what `progress_report.period` holds, hence varchar(10). Where a district
    has none for a year, the configured defaults apply.
    """

    __tablename__ = "report_period"
    __table_args__ = (UniqueConstraint("id_school_district", "year", "name"),)

    id_report_period: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_school_district: Mapped[int] = mapped_column(
        ForeignKey("school_district.id_school_district"), nullable=False
    )
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(10), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
