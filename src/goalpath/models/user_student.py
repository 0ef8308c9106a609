from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class UserStudent(Base):
    """An assignment of a staff member to a student; `access_level` is read or write."""

    __tablename__ = "user_student"
    __table_args__ = (UniqueConstraint("id_user", "id_student"),)

    id_user_student: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_user: Mapped[int | None] = mapped_column(ForeignKey("user.id_user"), index=True)
    id_student: Mapped[int | None] = mapped_column(ForeignKey("student.id_student"), index=True)
    access_level: Mapped[str | None] = mapped_column(String(50))
    is_primary: Mapped[bool | None] = mapped_column(Boolean)
