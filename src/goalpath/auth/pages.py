"""The sign-in, password and session pages: the same services as /api/v1/auth.

A page validates its form with the API's own input schemas and calls the same service
functions under the same rate limits, so a browser and an API client meet the same
rules. A page answers a refused form with the form again, and never rolls back itself:
a change that may be refused runs in a savepoint (`web.forms.attempt`), which the
refusal undoes, and the request's transaction then commits the refusal's audit rows.

Signing in, the code step and the forms that ask for the password or a code again are
called outside a savepoint: their services commit the attempt they count before the
password or code is checked (`auth.lockout`), and check it holding no transaction. A
savepoint around them would be ended by that commit, and would keep a connection
(and SQLite's write lock) through the hash check. What may stand after their refusal
is decided by the services themselves: nothing is written after that commit before a
refusal, and the code step undoes its own check (`service.complete_second_factor`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from goalpath.auth import password_reset, second_factor, service
from goalpath.auth.api import answer_with_session, limiter_of, passwords_of
from goalpath.auth.deps import (
    Principal,
    app_settings,
    audited_request_info,
    current_principal,
    request_info,
)
from goalpath.auth.events import security_event
from goalpath.auth.schemas import (
    LoginInput,
    PasswordChangeInput,
    ResetConfirmInput,
    ResetRequestInput,
)
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.auth.sessions import live_sessions, revoke_session
from goalpath.config import Settings
from goalpath.db import DbSession
from goalpath.errors import (
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from goalpath.kit.schemas import parse_id
from goalpath.models import UserSession
from goalpath.web.forms import attempt
from goalpath.web.pages import (
    CHANGE_PASSWORD_PATH,
    HOME_PATH,
    SIGN_IN_PATH,
    ExpiredPagePrincipal,
    PagePrincipal,
    local_path,
    redirect_with_flash,
    render,
)

router = APIRouter(include_in_schema=False)

FORGOT_PASSWORD_PATH = "/forgot-password"
RESET_PASSWORD_PATH = "/reset-password"
SESSIONS_PATH = "/account/sessions"
# The reset token moves from the link into this cookie, so it does not stay in the
# address bar, the history or a Referer header.
RESET_COOKIE = "goalpath_reset"
NO_REFERRER = {"Referrer-Policy": "no-referrer"}
# Secrets, QR codes and recovery codes must not stay in a browser's or proxy's cache.
NO_STORE = {"Cache-Control": "no-store"}
SIGN_IN_CODE_PATH = "/sign-in/code"
# The second step's challenge rides in this cookie, never in a URL or the page: it is
# as good as the password for the next five minutes.
CHALLENGE_COOKIE = "goalpath_sign_in_challenge"

FormText = Annotated[str, Form()]


def field_errors(
    error: ValidationError, values: dict[str, str], messages: dict[str, tuple[str, str]]
) -> dict[str, list[str]]:
    """Plain-language messages for the fields an input schema refused: the first of a
    field's pair when it was left empty, the second otherwise."""
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        if field not in messages or field in errors:
            continue
        empty, invalid = messages[field]
        errors[field] = [empty if not values.get(field) else invalid]
    return errors


def policy_errors(failure: ValidationFailed, fields: dict[str, str]) -> dict[str, list[str]]:
    """The service's per-field errors under the page's field names."""
    errors: dict[str, list[str]] = {}
    for item in failure.errors:
        field = fields.get(str(item.get("field")), next(iter(fields.values())))
        errors.setdefault(field, []).append(str(item.get("message") or failure.detail))
    if not errors:
        errors[next(iter(fields.values()))] = [failure.detail]
    return errors


def rate_limited(
    request: Request, template: str, context: dict[str, Any], limited: TooManyRequests
) -> Response:
    return render(
        request,
        template,
        {**context, "form_error": limited.detail},
        status_code=429,
        headers={"Retry-After": str(limited.retry_after)},
    )


def _password_rules(settings: Settings) -> str:
    return (
        f"Use {settings.password_min_length} to {settings.password_max_length} characters; "
        "a few unrelated words make a strong, memorable password. Common passwords, your "
        "name or email, and your recent passwords are not accepted."
    )


@router.get(SIGN_IN_PATH)
def sign_in_page(
    request: Request, db: DbSession, next_path: Annotated[str, Query(alias="next")] = HOME_PATH
) -> Response:
    target = local_path(next_path)
    try:
        current_principal(request, db)
    except (Unauthorized, Forbidden):
        return render(request, "auth/sign_in.html", {"next": target, "email": ""})
    return RedirectResponse(target, status_code=303)


@router.post(SIGN_IN_PATH)
def sign_in(
    request: Request,
    db: DbSession,
    email: FormText = "",
    password: FormText = "",
    next_path: Annotated[str, Form(alias="next")] = HOME_PATH,
) -> Response:
    settings = app_settings(request)
    context: dict[str, Any] = {"next": local_path(next_path), "email": email}
    try:
        LoginInput(email=email, password=password, session="cookie")
    except ValidationError as error:
        errors = field_errors(
            error,
            {"email": email, "password": password},
            {
                "email": ("Enter your email address.", "Enter a valid email address."),
                "password": ("Enter your password.", "The password is too long."),
            },
        )
        return render(request, "auth/sign_in.html", {**context, "errors": errors}, 422)
    info = audited_request_info(request, db)
    limiter = limiter_of(request)
    try:
        limiter.hit(settings.rate_limit_login_ip, "login-ip", info.ip or "unknown")
        limiter.hit(settings.rate_limit_login_account, "login-account", email.strip().lower())
    except TooManyRequests as limited:
        return rate_limited(request, "auth/sign_in.html", context, limited)
    try:
        _user, issued = service.sign_in(
            db, settings, passwords_of(request), email=email, password=password, request=info
        )
    except service.SignInFailed as failure:
        return render(request, "auth/sign_in.html", {**context, "form_error": failure.detail}, 401)
    if isinstance(issued, IssuedChallenge):
        return ask_for_second_factor(request, issued, next_path)
    response = RedirectResponse(local_path(next_path), status_code=303)
    answer_with_session(response, settings, issued, cookie=True)
    return response


@router.post("/sign-out")
def sign_out(principal: ExpiredPagePrincipal, request: Request, db: DbSession) -> Response:
    info = audited_request_info(request, db, principal.user.id_user)
    revoke_session(db, principal.session.id_user_session, now=info.now, reason="logout")
    security_event("logout", audit=info.audit, id_user=principal.user.id_user)
    response = redirect_with_flash(request, SIGN_IN_PATH, "You have signed out.")
    response.delete_cookie(app_settings(request).session_cookie_name, path="/")
    return response


@router.get(FORGOT_PASSWORD_PATH)
def forgot_password_page(request: Request) -> Response:
    return render(request, "auth/forgot_password.html", {"email": ""})


@router.post(FORGOT_PASSWORD_PATH)
def forgot_password(request: Request, db: DbSession, email: FormText = "") -> Response:
    settings = app_settings(request)
    context: dict[str, Any] = {"email": email}
    try:
        ResetRequestInput(email=email)
    except ValidationError as error:
        errors = field_errors(
            error,
            {"email": email},
            {"email": ("Enter your email address.", "Enter a valid email address.")},
        )
        return render(request, "auth/forgot_password.html", {**context, "errors": errors}, 422)
    info = audited_request_info(request, db)
    limiter = limiter_of(request)
    try:
        limiter.hit(settings.rate_limit_reset_ip, "reset-ip", info.ip or "unknown")
        limiter.hit(settings.rate_limit_reset_account, "reset-account", email.strip().lower())
    except TooManyRequests as limited:
        return rate_limited(request, "auth/forgot_password.html", context, limited)
    password_reset.request_password_reset(
        db, settings, request.app.state.mailer, email=email, request=info
    )
    # The same page whatever the address: it must not tell who has an account.
    return render(
        request,
        "auth/forgot_password_sent.html",
        {"expires_minutes": settings.reset_token_minutes},
    )


@router.get(RESET_PASSWORD_PATH)
def reset_password_page(request: Request, token: str | None = None) -> Response:
    settings = app_settings(request)
    if token is not None:
        response = RedirectResponse(RESET_PASSWORD_PATH, status_code=303, headers=NO_REFERRER)
        if 0 < len(token) <= 256:
            # The cookie dies with the token (settings.reset_token_minutes, 30 by default).
            # SameSite=Strict keeps other sites' forms from posting it; the path keeps it
            # off every other request.
            response.set_cookie(
                RESET_COOKIE,
                token,
                max_age=settings.reset_token_minutes * 60,
                httponly=True,
                samesite="strict",
                secure=settings.secure_cookies,
                path=RESET_PASSWORD_PATH,
            )
        return response
    # The form is shown even when this request brought no cookie: a browser may hold
    # back a Strict cookie on a redirect that began at a webmail site, and it sends it
    # with the form's own post.
    return render(
        request,
        "auth/reset_password.html",
        {"password_rules": _password_rules(settings)},
        headers=NO_REFERRER,
    )


def _forget_reset_token(request: Request, response: Response) -> None:
    response.delete_cookie(
        RESET_COOKIE,
        path=RESET_PASSWORD_PATH,
        secure=app_settings(request).secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _reset_refused(request: Request, detail: str) -> Response:
    response = render(
        request, "auth/reset_password_invalid.html", {"detail": detail}, 400, NO_REFERRER
    )
    _forget_reset_token(request, response)
    return response


@router.post(RESET_PASSWORD_PATH)
def reset_password(
    request: Request,
    db: DbSession,
    new_password: FormText = "",
    confirm_password: FormText = "",
) -> Response:
    settings = app_settings(request)
    token = request.cookies.get(RESET_COOKIE, "")
    context: dict[str, Any] = {"password_rules": _password_rules(settings)}
    try:
        ResetConfirmInput(token=token, password=new_password)
    except ValidationError as error:
        if any(problem["loc"] and problem["loc"][0] == "token" for problem in error.errors()):
            return _reset_refused(request, password_reset.ResetTokenInvalid().detail)
        errors = field_errors(
            error,
            {"password": new_password},
            {"password": ("Enter a new password.", "The password is too long.")},
        )
        errors = {"new_password": errors["password"]} if errors else {}
        return render(
            request, "auth/reset_password.html", {**context, "errors": errors}, 422, NO_REFERRER
        )
    if new_password != confirm_password:
        errors = {"confirm_password": ["The two passwords do not match."]}
        return render(
            request, "auth/reset_password.html", {**context, "errors": errors}, 422, NO_REFERRER
        )
    try:
        with attempt(db):
            password_reset.confirm_password_reset(
                db,
                settings,
                passwords_of(request),
                token=token,
                new_password=new_password,
                request=audited_request_info(request, db),
            )
    except password_reset.ResetTokenInvalid as invalid:
        return _reset_refused(request, invalid.detail)
    except ValidationFailed as failure:
        # The token stays usable: only the password was refused.
        errors = policy_errors(failure, {"password": "new_password"})
        return render(
            request, "auth/reset_password.html", {**context, "errors": errors}, 422, NO_REFERRER
        )
    response = redirect_with_flash(
        request, SIGN_IN_PATH, "Your password has been changed. Sign in with your new password."
    )
    response.headers.update(NO_REFERRER)
    _forget_reset_token(request, response)
    return response


@router.get(CHANGE_PASSWORD_PATH)
def change_password_page(principal: ExpiredPagePrincipal, request: Request) -> Response:
    settings = app_settings(request)
    expired = service.password_expired(principal.user, settings, request_info(request).now)
    return render(
        request,
        "auth/change_password.html",
        {"password_rules": _password_rules(settings), "expired": expired},
    )


@router.post(CHANGE_PASSWORD_PATH)
def change_password(
    principal: ExpiredPagePrincipal,
    request: Request,
    db: DbSession,
    current_password: FormText = "",
    new_password: FormText = "",
    confirm_password: FormText = "",
) -> Response:
    settings = app_settings(request)
    context: dict[str, Any] = {
        "password_rules": _password_rules(settings),
        "expired": service.password_expired(principal.user, settings, request_info(request).now),
    }
    try:
        PasswordChangeInput(current_password=current_password, new_password=new_password)
    except ValidationError as error:
        errors = field_errors(
            error,
            {"current_password": current_password, "new_password": new_password},
            {
                "current_password": ("Enter your current password.", "The password is too long."),
                "new_password": ("Enter a new password.", "The password is too long."),
            },
        )
        return render(request, "auth/change_password.html", {**context, "errors": errors}, 422)
    if new_password != confirm_password:
        errors = {"confirm_password": ["The two new passwords do not match."]}
        return render(request, "auth/change_password.html", {**context, "errors": errors}, 422)
    try:
        issued = service.change_password(
            db,
            settings,
            passwords_of(request),
            user=principal.user,
            current_password=current_password,
            new_password=new_password,
            current_session_id=principal.session.id_user_session,
            request=audited_request_info(request, db, principal.user.id_user),
        )
    except ValidationFailed as failure:
        errors = policy_errors(
            failure, {"password": "new_password", "current_password": "current_password"}
        )
        return render(request, "auth/change_password.html", {**context, "errors": errors}, 422)
    response = redirect_with_flash(
        request, HOME_PATH, "Your password has been changed. Your other sessions have ended."
    )
    answer_with_session(response, settings, issued, cookie=True)
    return response


def _sessions_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    records = live_sessions(
        db, app_settings(request), principal.user.id_user, now=request_info(request).now
    )
    return render(
        request,
        "auth/sessions.html",
        {
            "sessions": records,
            "current_id": principal.session.id_user_session,
            "form_error": error,
        },
        status_code,
    )


@router.get(SESSIONS_PATH)
def sessions_page(principal: PagePrincipal, request: Request, db: DbSession) -> Response:
    return _sessions_page(request, db, principal)


@router.post(SESSIONS_PATH + "/{id_user_session}/end")
def end_session(
    id_user_session: str, principal: PagePrincipal, request: Request, db: DbSession
) -> Response:
    session_id = parse_id(id_user_session)
    record = db.get(UserSession, session_id) if session_id is not None else None
    if record is None or record.id_user != principal.user.id_user:
        # As in the API: another user's session is as absent as one that never was.
        return _sessions_page(request, db, principal, status_code=404, error="No such session.")
    revoke_session(
        db, record.id_user_session, now=request_info(request).now, reason="ended_by_user"
    )
    if record.id_user_session == principal.session.id_user_session:
        response = redirect_with_flash(request, SIGN_IN_PATH, "You have signed out.")
        response.delete_cookie(app_settings(request).session_cookie_name, path="/")
        return response
    return redirect_with_flash(request, SESSIONS_PATH, "The session has ended.")


def ask_for_second_factor(
    request: Request,
    issued: IssuedChallenge,
    next_path: str,
    *,
    samesite: Literal["strict", "lax"] = "strict",
) -> Response:
    """Send a browser whose password was right on to the code page, holding the
    challenge in a cookie that only that page receives.

    After a district sign-in the redirect chain began at the provider's site, and a
    browser holds a Strict cookie back on such a chain: that flow asks for Lax, which
    still keeps another site's form from posting the cookie."""
    target = local_path(next_path)
    location = SIGN_IN_CODE_PATH
    if target != HOME_PATH:
        location += f"?next={quote(target, safe='/')}"
    response = RedirectResponse(location, status_code=303, headers=NO_STORE)
    settings = app_settings(request)
    # Strict (or Lax, see above): another site's form cannot post it; it dies with
    # the challenge.
    response.set_cookie(
        CHALLENGE_COOKIE,
        issued.challenge,
        max_age=int(second_factor.CHALLENGE_LIFETIME.total_seconds()),
        httponly=True,
        samesite=samesite,
        secure=settings.secure_cookies,
        path=SIGN_IN_CODE_PATH,
    )
    return response
