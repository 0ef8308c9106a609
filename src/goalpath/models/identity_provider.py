from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from goalpath.models.base import Base, UTCTimestamp, utcnow


class IdentityProvider(Base):
    """A district's OpenID Connect provider (extension table, SPEC section 12).

    The client secret is Fernet-encrypted with the health-note keys, so a copy of the
    table alone cannot be used to act as Goalpath towards the provider.
    `allowed_domains` is a JSON list of lower-cased domains; empty allows any.
    """

    __tablename__ = "identity_provider"
    __table_args__ = (Index("ix_identity_provider_id_school_district", "id_school_district"),)

    id_identity_provider: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_school_district: Mapped[int] = mapped_column(
        ForeignKey("school_district.id_school_district"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    issuer: Mapped[str] = mapped_column(String(255), nullable=False)
    client_id: Mapped[str] = mapped_column(String(255), nullable=False)
    client_secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    allowed_domains: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    trust_mfa: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false(), default=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCTimestamp, nullable=False, default=utcnow)

    @property
    def domains(self) -> list[str]:
        loaded = json.loads(self.allowed_domains or "[]")
        return [str(domain) for domain in loaded] if isinstance(loaded, list) else []
