"""/api/v1/auth: sign-in, sign-out, me, password change and reset, my sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from goalpath.auth import password_reset as resets
from goalpath.auth import second_factor, service
from goalpath.auth.deps import CurrentPrincipal, app_settings, audited_request_info, request_info
from goalpath.auth.events import security_event
from goalpath.auth.passwords import Passwords
from goalpath.auth.schemas import (
    LoginInput,
    Me,
    Message,
    PasswordChangeInput,
    RecoveryCodes,
    RecoveryCodesInput,
    ResetConfirmInput,
    ResetRequestInput,
    SecondFactorDisableInput,
    SecondFactorLoginInput,
    SecondFactorRequired,
    SessionInfo,
    SessionToken,
    TotpConfirmInput,
    TotpEnrolment,
)
from goalpath.auth.sessions import IssuedSession, live_sessions, revoke_session
from goalpath.config import Settings
from goalpath.db import DbSession
from goalpath.errors import NotFound
from goalpath.kit.problems import problem_responses
from goalpath.kit.ratelimit import RateLimiter
from goalpath.kit.schemas import IdPath
from goalpath.models import Role, UserSession

router = APIRouter(prefix="/auth", tags=["auth"])


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def passwords_of(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def answer_with_session(
    response: Response, settings: Settings, issued: IssuedSession, *, cookie: bool
) -> SessionToken:
    if not cookie:
        return SessionToken(token=issued.token, expires_at=issued.record.expires_at)
    response.set_cookie(
        settings.session_cookie_name,
        issued.token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return SessionToken(token=None, expires_at=issued.record.expires_at)


@router.post(
    "/login",
    response_model=SessionToken | SecondFactorRequired,
    responses=problem_responses(401, 422, 429, s401="Sign-in failed"),
    summary="Sign in; an account with a second factor gets a challenge, not a session",
)
def login(
    body: LoginInput, request: Request, response: Response, db: DbSession
) -> SessionToken | SecondFactorRequired:
    settings = app_settings(request)
    info = audited_request_info(request, db)
    limiter = limiter_of(request)
    limiter.hit(settings.rate_limit_login_ip, "login-ip", info.ip or "unknown")
    limiter.hit(settings.rate_limit_login_account, "login-account", body.email.strip().lower())
    _user, issued = service.sign_in(
        db, settings, passwords_of(request), email=body.email, password=body.password, request=info
    )
    response.headers["Cache-Control"] = "no-store"
    if isinstance(issued, second_factor.IssuedChallenge):
        return SecondFactorRequired(challenge=issued.challenge, expires_at=issued.expires_at)
    return answer_with_session(response, settings, issued, cookie=body.session == "cookie")


@router.post(
    "/login/second-factor",
    response_model=SessionToken,
    responses=problem_responses(401, 422, 429, s401="Wrong, used or expired code or challenge"),
    summary="Finish signing in with a TOTP code or a recovery code",
)
def login_second_factor(
    body: SecondFactorLoginInput, request: Request, response: Response, db: DbSession
) -> SessionToken:
    settings = app_settings(request)
    info = audited_request_info(request, db)
    limiter_of(request).hit(settings.rate_limit_login_ip, "login-ip", info.ip or "unknown")
    _user, issued = service.complete_second_factor(
        db, settings, challenge=body.challenge, code=body.code, request=info
    )
    response.headers["Cache-Control"] = "no-store"
    return answer_with_session(response, settings, issued, cookie=body.session == "cookie")


@router.post(
    "/second-factor/totp",
    response_model=TotpEnrolment,
    responses=problem_responses(401, 403, 409),
    summary="Start setting up an authenticator app (not in force until confirmed)",
)
def begin_totp(
    principal: CurrentPrincipal, request: Request, response: Response, db: DbSession
) -> TotpEnrolment:
    enrolment = service.begin_second_factor(
        db,
        app_settings(request),
        user=principal.user,
        request=audited_request_info(request, db, principal.user.id_user),
    )
    response.headers["Cache-Control"] = "no-store"
    return TotpEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/second-factor/totp/confirm",
    response_model=RecoveryCodes,
    responses=problem_responses(401, 403, 409, 422),
    summary="Turn the authenticator app on with a first code; answers recovery codes once",
)
def confirm_totp(
    body: TotpConfirmInput,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    db: DbSession,
) -> RecoveryCodes:
    codes = service.confirm_second_factor(
        db,
        app_settings(request),
        user=principal.user,
        code=body.code,
        request=audited_request_info(request, db, principal.user.id_user),
    )
    response.headers["Cache-Control"] = "no-store"
    return RecoveryCodes(recovery_codes=codes)


@router.delete(
    "/second-factor",
    status_code=204,
    responses=problem_responses(401, 403, 409, 422, s403="The role requires a second factor"),
    summary="Turn my second factor off (needs the password)",
)
def disable_second_factor(
    body: SecondFactorDisableInput, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Response:
    service.disable_second_factor(
        db,
        app_settings(request),
        passwords_of(request),
        user=principal.user,
        password=body.password,
        request=audited_request_info(request, db, principal.user.id_user),
    )
    return Response(status_code=204)


@router.post(
    "/second-factor/recovery-codes",
    response_model=RecoveryCodes,
    responses=problem_responses(401, 403, 409, 422),
    summary="Replace my recovery codes (needs the password or a current code); answers "
    "the new ones once",
)
def regenerate_recovery_codes(
    body: RecoveryCodesInput,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    db: DbSession,
) -> RecoveryCodes:
    codes = service.regenerate_recovery_codes(
        db,
        app_settings(request),
        passwords_of(request),
        user=principal.user,
        password=body.password,
        code=body.code,
        request=audited_request_info(request, db, principal.user.id_user),
    )
    response.headers["Cache-Control"] = "no-store"
    return RecoveryCodes(recovery_codes=codes)


@router.post("/logout", status_code=204, responses=problem_responses(401, 403))
def logout(principal: CurrentPrincipal, request: Request, db: DbSession) -> Response:
    info = audited_request_info(request, db, principal.user.id_user)
    revoke_session(db, principal.session.id_user_session, now=info.now, reason="logout")
    security_event("logout", audit=info.audit, id_user=principal.user.id_user)
    response = Response(status_code=204)
    response.delete_cookie(app_settings(request).session_cookie_name, path="/")
    return response


@router.get("/me", response_model=Me, responses=problem_responses(401, 403))
def me(principal: CurrentPrincipal, request: Request, db: DbSession) -> Me:
    user = principal.user
    role = db.get(Role, user.id_role) if user.id_role is not None else None
    return Me(
        id_user=user.id_user,
        email=user.email,
        name=user.name,
        id_role=user.id_role,
        role=role.name if role else None,
        password_updated_at=user.password_updated_at,
        password_expired=service.password_expired(
            user, app_settings(request), request_info(request).now
        ),
        second_factor_enabled=second_factor.enrolled(db, user.id_user),
        second_factor_enrolment_required=principal.second_factor_enrolment_required,
    )


@router.post(
    "/password",
    response_model=SessionToken,
    responses=problem_responses(401, 403, 422),
    summary="Change my password; other sessions end and this one gets a new token",
)
def change_password(
    body: PasswordChangeInput,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    db: DbSession,
) -> SessionToken:
    settings = app_settings(request)
    issued = service.change_password(
        db,
        settings,
        passwords_of(request),
        user=principal.user,
        current_password=body.current_password,
        new_password=body.new_password,
        current_session_id=principal.session.id_user_session,
        request=audited_request_info(request, db, principal.user.id_user),
    )
    return answer_with_session(response, settings, issued, cookie=principal.via_cookie)


@router.post(
    "/password-reset",
    status_code=202,
    response_model=Message,
    responses=problem_responses(422, 429),
    summary="Email a reset link if the account exists (always 202)",
)
def password_reset(body: ResetRequestInput, request: Request, db: DbSession) -> Message:
    settings = app_settings(request)
    info = audited_request_info(request, db)
    limiter = limiter_of(request)
    limiter.hit(settings.rate_limit_reset_ip, "reset-ip", info.ip or "unknown")
    limiter.hit(settings.rate_limit_reset_account, "reset-account", body.email.strip().lower())
    resets.request_password_reset(
        db, settings, request.app.state.mailer, email=body.email, request=info
    )
    return Message(detail="If an account exists for this address, a reset link is on its way.")


@router.post(
    "/password-reset/confirm",
    response_model=Message,
    responses=problem_responses(400, 422, s400="Invalid, used or expired token"),
)
def password_reset_confirm(
    body: ResetConfirmInput, request: Request, response: Response, db: DbSession
) -> Message:
    resets.confirm_password_reset(
        db,
        app_settings(request),
        passwords_of(request),
        token=body.token,
        new_password=body.password,
        request=audited_request_info(request, db),
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return Message(detail="The password has been changed. Sign in with the new password.")


@router.get("/sessions", response_model=list[SessionInfo], responses=problem_responses(401, 403))
def my_sessions(principal: CurrentPrincipal, request: Request, db: DbSession) -> list[SessionInfo]:
    records = live_sessions(
        db, app_settings(request), principal.user.id_user, now=request_info(request).now
    )
    return [
        SessionInfo(
            id_user_session=record.id_user_session,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            ip=record.ip,
            user_agent=record.user_agent,
            current=record.id_user_session == principal.session.id_user_session,
        )
        for record in records
    ]


@router.delete(
    "/sessions/{id_user_session}",
    status_code=204,
    responses=problem_responses(401, 403, 404, s404="No such session of mine"),
)
def end_my_session(
    id_user_session: IdPath, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Response:
    record = db.get(UserSession, id_user_session)
    if record is None or record.id_user != principal.user.id_user:
        raise NotFound("No such session.")
    revoke_session(db, id_user_session, now=request_info(request).now, reason="ended_by_user")
    return Response(status_code=204)
