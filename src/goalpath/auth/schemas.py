from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

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


class SecondFactorRequired(Output):
    second_factor_required: Literal[True] = True
    challenge: str = Field(description="Send it with a code to /auth/login/second-factor")
    expires_at: datetime


class SecondFactorLoginInput(StrictInput):
    challenge: str = Field(min_length=1, max_length=256)
    code: str = Field(
        min_length=1, max_length=64, description="A 6-digit code, or an unused recovery code"
    )
    session: Literal["token", "cookie"] = "token"


class TotpEnrolment(Output):
    secret: str = Field(description="Base32; not in force until confirmed")
    otpauth_uri: str


class TotpConfirmInput(StrictInput):
    code: str = Field(min_length=1, max_length=16)


class RecoveryCodes(Output):
    recovery_codes: list[str] = Field(description="Shown this once; each works once")


class SecondFactorDisableInput(StrictInput):
    password: str = PasswordField


class RecoveryCodesInput(StrictInput):
    """Proof for a new set of recovery codes: the password, or a current code."""

    password: str | None = Field(default=None, min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, min_length=1, max_length=16, description="A 6-digit code from the app"
    )

    @model_validator(mode="after")
    def _one_proof(self) -> RecoveryCodesInput:
        if (self.password is None) == (self.code is None):
            raise ValueError("send either the password or a code from the authenticator app")
        return self


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
    second_factor_enabled: bool
    second_factor_enrolment_required: bool


class SessionInfo(Output):
    id_user_session: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool
