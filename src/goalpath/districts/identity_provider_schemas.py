"""Bodies of the identity-provider endpoints. `client_secret` is accepted, never sent."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from goalpath.districts.schemas import Name, refuse_null
from goalpath.kit.schemas import Output, StrictInput

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 50


def _domain(value: str) -> str:
    value = value.strip().lower().removeprefix("@")
    if not _DOMAIN.match(value):
        raise ValueError("must be a domain name such as lakeside.k12.example")
    return value


def _issuer(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


Domain = Annotated[str, Field(max_length=260), AfterValidator(_domain)]
Issuer = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_issuer)]
ClientId = Annotated[str, Field(min_length=1, max_length=255)]
ClientSecret = Annotated[str, Field(min_length=1, max_length=2048)]


class IdentityProviderInput(StrictInput):
    name: Name = Field(description='Shown on the sign-in page as "Sign in with <name>"')
    issuer: Issuer = Field(description="https address; its discovery document must name it")
    client_id: ClientId
    client_secret: ClientSecret = Field(repr=False, description="Stored encrypted; never returned")
    allowed_domains: list[Domain] = Field(default_factory=list, max_length=MAX_DOMAINS)
    trust_mfa: bool = Field(
        default=False,
        description='Count a sign-in whose ID token has "mfa" in `amr` as the second factor',
    )


class IdentityProviderUpdate(StrictInput):
    name: Name | None = None
    issuer: Issuer | None = None
    client_id: ClientId | None = None
    client_secret: ClientSecret | None = Field(default=None, repr=False)
    allowed_domains: list[Domain] | None = Field(default=None, max_length=MAX_DOMAINS)
    trust_mfa: bool | None = None

    @field_validator("name", "issuer", "client_id", "client_secret", "allowed_domains", "trust_mfa")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return refuse_null(value)


class IdentityProvider(Output):
    id_identity_provider: int
    id_school_district: int
    name: str
    issuer: str
    client_id: str
    allowed_domains: list[str]
    trust_mfa: bool
    created_at: datetime
