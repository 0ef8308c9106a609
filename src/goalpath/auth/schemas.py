from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from goalpath.kit.schemas import Output, StrictInput

# Generous bounds: the policy gives the precise message; these only stop abuse early.
EmailField = Field(min_length=3, max_length=320)
PasswordField = Field(min_length=1, max_length=1024)


class LoginInput(StrictInput):
    email: str = EmailField
    password: str = PasswordField
    session: Literal["token", "cookie"] = Field(
        default="token",
        description="token: answer with a bearer token (API clients); "
        "cookie: set an HttpOnly session cookie and a CSRF cookie (browsers).",
    )


class SessionToken(Output):
    token: str | None = Field(description="Bearer token; null when a cookie was set")
    expires_at: datetime


class PasswordChangeInput(StrictInput):
    current_password: str = PasswordField
    new_password: str = PasswordField


class ResetRequestInput(StrictInput):
    email: str = EmailField


class ResetConfirmInput(StrictInput):
    token: str = Field(min_length=1, max_length=256)
    password: str = PasswordField


class Message(Output):
    detail: str


class Me(Output):
    id_user: int
    email: str | None
    name: str | None
    id_role: int | None
    role: str | None
    password_updated_at: datetime | None
    password_expired: bool


class SessionInfo(Output):
    id_user_session: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool
