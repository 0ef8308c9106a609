from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class Permission(Base):
    """One action on one resource within one scope (SPEC section 5)."""

    __tablename__ = "permission"
    __table_args__ = (UniqueConstraint("resource", "action", "scope"),)

    id_permission: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    resource: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str | None] = mapped_column(String(50))
    scope: Mapped[str | None] = mapped_column(String(50))
