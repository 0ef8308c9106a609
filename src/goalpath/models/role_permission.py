from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base


class RolePermission(Base):
    __tablename__ = "role_permission"
    __table_args__ = (UniqueConstraint("id_role", "id_permission"),)

    id_role_permission: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_role: Mapped[int | None] = mapped_column(ForeignKey("role.id_role"), index=True)
    id_permission: Mapped[int | None] = mapped_column(
        ForeignKey("permission.id_permission"), index=True
    )
