from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class RosterSource(Base):
    """Which Goalpath record a OneRoster sourcedId stands for (extension, SPEC section 15).

    sourcedIds are the district's, so they are scoped per district: the same sourcedId
    in a second district is a different record there. `record_id` has no foreign key
    because `kind` decides the table; it is empty for OneRoster records that map to no
    Goalpath row (academic sessions, departments).
    """

    __tablename__ = "roster_source"
    __table_args__ = (UniqueConstraint("id_school_district", "kind", "sourced_id"),)

    id_roster_source: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_school_district: Mapped[int] = mapped_column(
        ForeignKey("school_district.id_school_district"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    sourced_id: Mapped[str] = mapped_column(String(255), nullable=False)
    record_id: Mapped[int | None] = mapped_column(Integer)
