"""The second factor in the pages (SPEC section 12): the sign-in's second step, and
setting up, renewing recovery codes for and turning off an authenticator app. The same
services and input schemas as /api/v1/auth.

No page rolls back: setting up and confirming run in a savepoint (`web.forms.attempt`);
the code step, turning off and new recovery codes count a lockout attempt and commit it
before the password or code is checked, so they are called outside one (see
`auth.pages`)."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Query, Request
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from goalpath.auth import second_factor, service
from goalpath.auth.api import answer_with_session, limiter_of, passwords_of
from goalpath.auth.deps import (
    Principal,
    app_settings,
    audited_request_info,
)
from goalpath.auth.pages import (
    CHALLENGE_COOKIE,
    NO_STORE,
    SIGN_IN_CODE_PATH,
    FormText,
    field_errors,
    policy_errors,
    rate_limited,
)
from goalpath.auth.schemas import (
    RecoveryCodesInput,
    SecondFactorDisableInput,
    SecondFactorLoginInput,
    TotpConfirmInput,
)
from goalpath.config import Settings
from goalpath.db import DbSession
from goalpath.errors import (
    Conflict,
    GoalpathError,
    TooManyRequests,
    ValidationFailed,
)
from goalpath.web.forms import attempt
from goalpath.web.pages import (
    HOME_PATH,
    SECOND_FACTOR_PATH,
    EnrollingPagePrincipal,
    PagePrincipal,
    local_path,
    redirect_with_flash,
    render,
)

router = APIRouter(include_in_schema=False)


# -- second factor: the sign-in's second step ----------------------------------------


def _forget_challenge(request: Request, response: Response) -> None:
    response.delete_cookie(
        CHALLENGE_COOKIE,
        path=SIGN_IN_CODE_PATH,
        secure=app_settings(request).secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _start_again(request: Request, next_path: str, detail: str, status_code: int) -> Response:
    response = render(
        request,
        "auth/sign_in.html",
        {"next": local_path(next_path), "email": "", "form_error": detail},
        status_code,
        NO_STORE,
    )
    _forget_challenge(request, response)
    return response


def _start_again_detail(settings: Settings) -> str:
    return (
        "This sign-in has expired, had too many wrong codes, or the account is locked. "
        "Sign in again with your password; after five wrong codes in a row, wait "
        f"{settings.lockout_minutes} minutes first."
    )


@router.get(SIGN_IN_CODE_PATH)
def sign_in_code_page(
    request: Request, next_path: Annotated[str, Query(alias="next")] = HOME_PATH
) -> Response:
    if not request.cookies.get(CHALLENGE_COOKIE):
        return _start_again(request, next_path, _start_again_detail(app_settings(request)), 200)
    return render(request, "auth/sign_in_code.html", {"next": local_path(next_path)}, 200, NO_STORE)


@router.post(SIGN_IN_CODE_PATH)
def sign_in_code(
    request: Request,
    db: DbSession,
    code: FormText = "",
    next_path: Annotated[str, Form(alias="next")] = HOME_PATH,
) -> Response:
    settings = app_settings(request)
    challenge = request.cookies.get(CHALLENGE_COOKIE, "")
    code = code.strip()
    context: dict[str, Any] = {"next": local_path(next_path)}
    if not challenge:
        return _start_again(request, next_path, _start_again_detail(settings), 401)
    try:
        SecondFactorLoginInput(challenge=challenge, code=code)
    except ValidationError as error:
        if any(problem["loc"] and problem["loc"][0] == "challenge" for problem in error.errors()):
            return _start_again(request, next_path, _start_again_detail(settings), 401)
        errors = field_errors(
            error,
            {"code": code},
            {
                "code": (
                    "Enter the code from your authenticator app, or a recovery code.",
                    "That is longer than any code; enter the 6-digit code or a recovery code.",
                )
            },
        )
        return render(
            request, "auth/sign_in_code.html", {**context, "errors": errors}, 422, NO_STORE
        )
    info = audited_request_info(request, db)
    try:
        limiter_of(request).hit(settings.rate_limit_login_ip, "login-ip", info.ip or "unknown")
    except TooManyRequests as limited:
        return rate_limited(request, "auth/sign_in_code.html", context, limited)
    try:
        _user, issued = service.complete_second_factor(
            db, settings, challenge=challenge, code=code, request=info
        )
    except service.SecondFactorFailed as failure:
        if failure.start_again:
            return _start_again(request, next_path, _start_again_detail(settings), 401)
        errors = {"code": [failure.detail]}
        return render(
            request, "auth/sign_in_code.html", {**context, "errors": errors}, 401, NO_STORE
        )
    response = RedirectResponse(local_path(next_path), status_code=303)
    answer_with_session(response, settings, issued, cookie=True)
    _forget_challenge(request, response)
    return response


# -- second factor: set up, recovery codes, turn off --------------------------------


def _qr_code(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code: drawn here, so the secret never goes to
    an image service and the CSP needs no exception. Its title is its text alternative;
    the page shows the secret as text beside it for those who cannot scan."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        dark="#000",
        light="#fff",
        title="QR code for your authenticator app. The key beside it is the same in text.",
        svgclass="qr-code",
    )
    # segno's output is markup of its own making (no text of ours but the fixed title);
    # role="img" makes its title the accessible name in every browser.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704


def _grouped(secret: str) -> str:
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def _second_factor_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    errors: dict[str, list[str]] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    user = principal.user
    settings = app_settings(request)
    context: dict[str, Any] = {
        "errors": errors or {},
        "form_error": form_error,
        "required": second_factor.role_requires(db, user.id_role),
        "must_enrol": principal.second_factor_enrolment_required,
        "state": "intro",
    }
    if second_factor.enrolled(db, user.id_user):
        context["state"] = "enrolled"
    else:
        pending = second_factor.pending_secret(db, settings, user.id_user)
        if pending is not None:
            _factor, secret = pending
            uri = second_factor.otpauth_uri(user, secret)
            context.update(
                state="pending", secret=_grouped(secret), qr_code=_qr_code(uri), otpauth_uri=uri
            )
    return render(request, "auth/second_factor.html", context, status_code, NO_STORE)


@router.get(SECOND_FACTOR_PATH)
def second_factor_page(
    principal: EnrollingPagePrincipal, request: Request, db: DbSession
) -> Response:
    return _second_factor_page(request, db, principal)


@router.post(SECOND_FACTOR_PATH + "/set-up")
def begin_second_factor(
    principal: EnrollingPagePrincipal, request: Request, db: DbSession
) -> Response:
    try:
        with attempt(db):
            service.begin_second_factor(
                db,
                app_settings(request),
                user=principal.user,
                request=audited_request_info(request, db, principal.user.id_user),
            )
    except Conflict as conflict:
        return _second_factor_page(
            request, db, principal, form_error=conflict.detail, status_code=409
        )
    return RedirectResponse(SECOND_FACTOR_PATH, status_code=303)


@router.post(SECOND_FACTOR_PATH + "/confirm")
def confirm_second_factor(
    principal: EnrollingPagePrincipal, request: Request, db: DbSession, code: FormText = ""
) -> Response:
    code = code.strip()
    try:
        TotpConfirmInput(code=code)
    except ValidationError as error:
        errors = field_errors(
            error,
            {"code": code},
            {
                "code": (
                    "Enter the 6-digit code your authenticator app shows.",
                    "Enter the 6-digit code your authenticator app shows.",
                )
            },
        )
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    try:
        with attempt(db):
            codes = service.confirm_second_factor(
                db,
                app_settings(request),
                user=principal.user,
                code=code,
                request=audited_request_info(request, db, principal.user.id_user),
            )
    except ValidationFailed as failure:
        errors = policy_errors(failure, {"code": "code"})
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    except Conflict as conflict:
        return _second_factor_page(
            request, db, principal, form_error=conflict.detail, status_code=409
        )
    # Shown this once, never again: only their digests are kept.
    return render(request, "auth/recovery_codes.html", {"codes": codes}, 200, NO_STORE)


@router.post(SECOND_FACTOR_PATH + "/turn-off")
def turn_off_second_factor(
    principal: PagePrincipal, request: Request, db: DbSession, password: FormText = ""
) -> Response:
    try:
        SecondFactorDisableInput(password=password)
    except ValidationError as error:
        errors = field_errors(
            error,
            {"password": password},
            {"password": ("Enter your password.", "The password is too long.")},
        )
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    try:
        service.disable_second_factor(
            db,
            app_settings(request),
            passwords_of(request),
            user=principal.user,
            password=password,
            request=audited_request_info(request, db, principal.user.id_user),
        )
    except ValidationFailed as failure:
        errors = policy_errors(failure, {"password": "password"})
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    except GoalpathError as refusal:
        return _second_factor_page(
            request, db, principal, form_error=refusal.detail, status_code=refusal.status_code
        )
    return redirect_with_flash(
        request,
        SECOND_FACTOR_PATH,
        "Your second factor is off. You sign in with your password alone; you can delete "
        "Goalpath from your authenticator app.",
    )


@router.post(SECOND_FACTOR_PATH + "/recovery-codes")
def regenerate_recovery_codes(
    principal: PagePrincipal, request: Request, db: DbSession, proof: FormText = ""
) -> Response:
    """New recovery codes for the password or a current code, in one field: a password
    is at least 15 characters under the policy, a code is 6 digits."""
    is_code = second_factor.is_totp_code(proof.strip())
    messages = {
        "proof": (
            "Enter your password, or the code your authenticator app shows now.",
            "That is too long for a password or a code.",
        )
    }
    try:
        body = (
            RecoveryCodesInput(code=proof)
            if is_code
            else RecoveryCodesInput(password=proof or None)
        )
    except ValidationError as error:
        errors = field_errors(error, {"proof": proof}, messages)
        errors = errors or {"proof": [messages["proof"][0 if not proof else 1]]}
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    try:
        codes = service.regenerate_recovery_codes(
            db,
            app_settings(request),
            passwords_of(request),
            user=principal.user,
            password=body.password,
            code=body.code,
            request=audited_request_info(request, db, principal.user.id_user),
        )
    except ValidationFailed as failure:
        errors = policy_errors(failure, {"password": "proof", "code": "proof"})
        return _second_factor_page(request, db, principal, errors=errors, status_code=422)
    except GoalpathError as refusal:
        return _second_factor_page(
            request, db, principal, form_error=refusal.detail, status_code=refusal.status_code
        )
    return render(
        request, "auth/recovery_codes.html", {"codes": codes, "regenerated": True}, 200, NO_STORE
    )
