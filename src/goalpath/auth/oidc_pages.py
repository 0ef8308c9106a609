"""District sign-in pages: leave for the district's provider, and come back.

A refusal is a page that says what to do; it writes nothing but its audit row, which
survives the request either way. Both routes count toward the sign-in limit per
address, as the password form does. An account with an authenticator app goes on to
the code page of a password sign-in unless the provider's MFA stands in for it.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from goalpath.auth import oidc, oidc_sign_in
from goalpath.auth.api import answer_with_session, limiter_of
from goalpath.auth.deps import app_settings, audited_request_info, request_info
from goalpath.auth.pages import ask_for_second_factor
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.db import Database, DbSession
from goalpath.errors import TooManyRequests
from goalpath.kit.schemas import parse_id
from goalpath.models import IdentityProvider
from goalpath.web.pages import HOME_PATH, local_path, render, templates

router = APIRouter(include_in_schema=False)

REFUSED_TEMPLATE = "auth/oidc_refused.html"
_NO_STORE = {"Cache-Control": "no-store"}
_CACHE_LOCK = threading.Lock()


def provider_cache(request: Request) -> oidc.ProviderCache:
    """The app's one cache of discovery documents and key sets, made on first use."""
    state = request.app.state
    with _CACHE_LOCK:
        cache = getattr(state, "oidc_cache", None)
        if not isinstance(cache, oidc.ProviderCache):
            cache = oidc.ProviderCache()
            state.oidc_cache = cache
    return cache


def _rate_limited(request: Request, ip: str | None) -> Response | None:
    """The refusal page when this address has tried to sign in too often, else None."""
    settings = app_settings(request)
    try:
        limiter_of(request).hit(settings.rate_limit_login_ip, "login-ip", ip or "unknown")
    except TooManyRequests as limited:
        refusal = oidc.OidcRefused("rate_limited", limited.detail, status_code=429)
        response = _refused(request, refusal)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    return None


def sign_in_providers(request: Request) -> list[dict[str, Any]]:
    """The "Sign in with ..." buttons of the sign-in page: every registered provider,
    or one district's with `?district=ID`."""
    district = request.query_params.get("district")
    statement = select(IdentityProvider.id_identity_provider, IdentityProvider.name).order_by(
        IdentityProvider.name, IdentityProvider.id_identity_provider
    )
    if district is not None:
        id_district = parse_id(district)
        if id_district is None:
            return []
        statement = statement.where(IdentityProvider.id_school_district == id_district)
    database: Database = request.app.state.database
    with database.session_scope() as session:
        rows = session.execute(statement).all()
    next_path = local_path(request.query_params.get("next"))
    suffix = "" if next_path == HOME_PATH else f"?next={quote(next_path, safe='/')}"
    return [{"href": f"/sign-in/oidc/{row[0]}{suffix}", "name": row[1]} for row in rows]


templates.env.globals["sign_in_providers"] = sign_in_providers


def _refused(request: Request, refusal: oidc.OidcRefused) -> Response:
    response = render(
        request,
        REFUSED_TEMPLATE,
        {"message": refusal.message},
        status_code=refusal.status_code,
        headers=_NO_STORE,
    )
    _forget_flow(request, response)
    return response


def _forget_flow(request: Request, response: Response) -> None:
    settings = app_settings(request)
    response.delete_cookie(
        oidc_sign_in.FLOW_COOKIE,
        path=oidc_sign_in.FLOW_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


@router.get(oidc_sign_in.CALLBACK_PATH)
def oidc_callback(
    request: Request,
    db: DbSession,
    state: Annotated[str, Query(max_length=512)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str, Query(max_length=256)] = "",
) -> Response:
    settings = app_settings(request)
    info = audited_request_info(request, db)
    flow = oidc_sign_in.open_flow(settings, request.cookies.get(oidc_sign_in.FLOW_COOKIE))
    id_provider = flow.id_identity_provider if flow is not None else None
    limited = _rate_limited(request, info.ip)
    if limited is not None:
        return limited
    try:
        if flow is None:
            raise oidc.OidcRefused("bad_state", oidc.START_AGAIN, status_code=400)
        if error:
            raise oidc.OidcRefused(
                "provider_refused",
                "Your district's sign-in service did not sign you in; try again, or sign in "
                "with your email and password.",
            )
        _user, issued = oidc_sign_in.finish(
            db,
            settings,
            flow=flow,
            state=state,
            code=code,
            request=info,
            cache=provider_cache(request),
        )
    except oidc.OidcRefused as refusal:
        oidc_sign_in.record_refusal(info, refusal, id_identity_provider=id_provider)
        return _refused(request, refusal)
    assert flow is not None
    response: Response
    if isinstance(issued, IssuedChallenge):
        response = ask_for_second_factor(request, issued, flow.next_path, samesite="lax")
        _forget_flow(request, response)
        return response
    response = RedirectResponse(local_path(flow.next_path), status_code=303, headers=_NO_STORE)
    answer_with_session(response, settings, issued, cookie=True)
    _forget_flow(request, response)
    return response


@router.get("/sign-in/oidc/{id_identity_provider}")
def oidc_start(
    id_identity_provider: str,
    request: Request,
    db: DbSession,
    next_path: Annotated[str, Query(alias="next", max_length=2048)] = HOME_PATH,
) -> Response:
    settings = app_settings(request)
    limited = _rate_limited(request, request_info(request).ip)
    if limited is not None:
        return limited
    record_id = parse_id(id_identity_provider)
    provider = db.get(IdentityProvider, record_id) if record_id is not None else None
    if provider is None:
        return _refused(
            request,
            oidc.OidcRefused(
                "unknown_provider",
                "This district sign-in is no longer set up; go back to the sign-in page and "
                "choose another way to sign in.",
                status_code=404,
            ),
        )
    # Discovery is a call to the provider: no pooled connection waits on it.
    db.expunge(provider)
    db.commit()
    try:
        location, flow = oidc_sign_in.begin(
            settings, provider, local_path(next_path), provider_cache(request)
        )
    except oidc.OidcRefused as refusal:
        return _refused(request, refusal)
    response = RedirectResponse(location, status_code=303, headers=_NO_STORE)
    response.set_cookie(
        oidc_sign_in.FLOW_COOKIE,
        oidc_sign_in.seal_flow(settings, flow),
        max_age=settings.oidc_flow_minutes * 60,
        httponly=True,
        # Lax: the provider sends the browser back with a top-level GET, which carries it.
        samesite="lax",
        secure=settings.secure_cookies,
        path=oidc_sign_in.FLOW_COOKIE_PATH,
    )
    return response
