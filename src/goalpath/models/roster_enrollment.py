from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class RosterEnrollment(Base):
    """A OneRoster enrollment as last imported (extension, SPEC section 15).

    Kept so that a delta may name an enrollment by its sourcedId alone, and so that
    read-level caseload links made from classes end when the last enrollment that
    justified them goes (`tobedeleted`), and not before. Ids of the district's own
    files only: no names, no dates.
    """

    __tablename__ = "roster_enrollment"
    __table_args__ = (
        UniqueConstraint("id_school_district", "sourced_id"),
        Index(None, "id_school_district", "class_sourced_id"),
        Index(None, "id_school_district", "user_sourced_id"),
    )

    id_roster_enrollment: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_school_district: Mapped[int] = mapped_column(
        ForeignKey("school_district.id_school_district"), nullable=False
    )
    sourced_id: Mapped[str] = mapped_column(String(255), nullable=False)
    class_sourced_id: Mapped[str] = mapped_column(String(255), nullable=False)
    user_sourced_id: Mapped[str] = mapped_column(String(255), nullable=False)
    # student, or a staff role (teacher, aide, ...): only students are taught.
    role: Mapped[str] = mapped_column(String(30), nullable=False)
