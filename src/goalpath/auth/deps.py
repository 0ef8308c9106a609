"""Who is asking: the bearer token or session cookie of a request, resolved once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from goalpath.audit.service import AuditTrail
from goalpath.auth.request import Request as RequestInfo
from goalpath.auth.second_factor import enrolment_required
from goalpath.auth.service import password_expired
from goalpath.auth.sessions import resolve_session
from goalpath.config import Settings
from goalpath.db import DbSession
from goalpath.errors import Forbidden, Unauthorized
from goalpath.kit.client_ip import request_client_ip
from goalpath.models import User, UserSession

# With an expired password (when expiry is on) a user may only change it.
_ALLOWED_WHEN_EXPIRED = ("/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/auth/me")
# A role that requires a second factor lets a user who has none only set one up
# (SPEC section 12), besides what an expired password allows.
_ALLOWED_WHILE_ENROLLING = (
    *_ALLOWED_WHEN_EXPIRED,
    "/api/v1/auth/second-factor/totp",
    "/api/v1/auth/second-factor/totp/confirm",
)


class SecondFactorEnrolmentRequired(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Your role requires a second factor: set one up (an authenticator app) to continue."
        )


@dataclass(frozen=True)
class Principal:
    user: User
    session: UserSession
    via_cookie: bool
    second_factor_enrolment_required: bool = False


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        ip=request_client_ip(request),
        user_agent=request.headers.get("user-agent"),
        now=now(request),
    )


def audited_request_info(request: Request, db: Session, id_user: int | None = None) -> RequestInfo:
    """Request facts with an audit trail for the auth endpoints, which run before (or
    without) a signed-in actor."""
    info = request_info(request)
    audit = AuditTrail(db, id_user=id_user, ip=info.ip, now=info.now)
    return RequestInfo(ip=info.ip, user_agent=info.user_agent, now=info.now, audit=audit)


def presented_token(request: Request) -> tuple[str | None, bool]:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), False
    settings = app_settings(request)
    cookie = request.cookies.get(settings.session_cookie_name)
    return (cookie, True) if cookie else (None, False)


def current_principal(request: Request, db: DbSession) -> Principal:
    token, via_cookie = presented_token(request)
    if token is None:
        raise Unauthorized("Sign in to continue.")
    settings = app_settings(request)
    moment = now(request)
    resolved = resolve_session(db, settings, token, now=moment)
    if resolved is None:
        raise Unauthorized("The session has ended or is not valid; sign in again.")
    record, user = resolved
    if password_expired(user, settings, moment) and request.url.path not in _ALLOWED_WHEN_EXPIRED:
        raise Forbidden("The password has expired; change it to continue.")
    must_enrol = enrolment_required(db, user)
    if must_enrol and request.url.path not in _ALLOWED_WHILE_ENROLLING:
        raise SecondFactorEnrolmentRequired
    request.state.id_user = user.id_user
    return Principal(
        user=user,
        session=record,
        via_cookie=via_cookie,
        second_factor_enrolment_required=must_enrol,
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
