"""What every server-rendered page shares: templates, the signed-in viewer, redirects.

Pages are as thin as the API's endpoints and call the same services. A page's
principal is resolved by the API's own `current_principal`, so a page and the API can
never disagree about who is signed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from goalpath.auth.deps import (
    Principal,
    SecondFactorEnrolmentRequired,
    app_settings,
    current_principal,
    now,
    presented_token,
)
from goalpath.auth.second_factor import enrolment_required
from goalpath.auth.sessions import resolve_session
from goalpath.authz.actor import Actor
from goalpath.authz.deps import current_actor
from goalpath.authz.grants import Grants, load_grants
from goalpath.authz.wording import role_in_words
from goalpath.db import DbSession
from goalpath.errors import Forbidden, GoalpathError, TooManyRequests, Unauthorized
from goalpath.kit.csrf import csrf_token
from goalpath.kit.problems import domain_error as api_error_handler
from goalpath.models import Role, SchoolDistrict, User
from goalpath.web.local_time import DEFAULT as DEFAULT_LOCALE
from goalpath.web.local_time import Locale, day_text, moment_text, zone_label

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def _locale_of(context: Any) -> Locale:
    viewer = context.get("viewer")
    return viewer.locale if isinstance(viewer, Viewer) else DEFAULT_LOCALE


@jinja2.pass_context
def _local_day(context: Any, value: date | datetime | None) -> str:
    return day_text(value, _locale_of(context)) if value else ""


@jinja2.pass_context
def _local_moment(context: Any, value: datetime | None) -> str:
    return moment_text(value, _locale_of(context)) if value else ""


@jinja2.pass_context
def _local_zone(context: Any, _value: object = None) -> str:
    return zone_label(_locale_of(context))


templates.env.filters["local_day"] = _local_day
templates.env.filters["local_moment"] = _local_moment
templates.env.globals["zone_label"] = _local_zone

HOME_PATH = "/"
SIGN_IN_PATH = "/sign-in"
CHANGE_PASSWORD_PATH = "/account/password"
SECOND_FACTOR_PATH = "/account/second-factor"
FLASH_COOKIE = "goalpath_flash"
# A flash message lives for one redirect; a minute covers a slow one.
FLASH_SECONDS = 60
_MAX_NEXT_LENGTH = 2048


@dataclass(frozen=True)
class NavLink:
    label: str
    path: str
    # (resource, action, scope) the viewer must hold at that scope or wider; roles are
    # editable (SPEC section 5), so the menu follows permissions, not role names.
    needs: tuple[str, str, str] | None = None


# A link is shown only once a page is mounted at its path, so a domain's menu entry
# appears with its first page and the menu never leads to a 404.
NAV_LINKS = (
    NavLink("Today", HOME_PATH),
    NavLink("My students", "/students", ("student", "read", "own")),
    NavLink("Reports", "/reports", ("progress_report", "read", "own")),
    NavLink("Programs", "/admin/programs", ("program_membership", "read", "program")),
    NavLink("Staff", "/admin/users", ("user", "read", "district")),
    NavLink("Caseloads", "/admin/assignments", ("student_access", "create", "program")),
    NavLink("Roles", "/admin/roles", ("role", "read", "global")),
    NavLink("Audit trail", "/audit-events", ("audit_event", "read", "district")),
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as pages show them: who, with which role and rights.

    The name shown is copied here, so that an error page rendered after the request's
    transaction has been rolled back (and its records expired) can still show it."""

    principal: Principal
    role: str | None
    grants: Grants
    display_name: str
    locale: Locale = DEFAULT_LOCALE

    @property
    def role_label(self) -> str:
        if self.role is None:
            return "No role"
        return role_in_words(self.role)


class PageRedirect(Exception):
    """Raised where a page cannot be shown; `page_redirect_handler` sends the browser on,
    with `message` shown once on arrival when there is one."""

    def __init__(self, location: str, message: str | None = None) -> None:
        super().__init__(location)
        self.location = location
        self.message = message


class PasswordChangeRequired(PageRedirect):
    def __init__(self) -> None:
        super().__init__(CHANGE_PASSWORD_PATH)


class SecondFactorEnrolmentPending(PageRedirect):
    def __init__(self) -> None:
        super().__init__(
            SECOND_FACTOR_PATH,
            "Your role requires a second factor. Set up an authenticator app to continue.",
        )


class PageRoute(APIRoute):
    """The route of an HTML page: a domain error raised by it is answered as a page
    (`page_error_handler`), not as the API's problem details."""


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


_ERROR_HEADINGS = {
    400: "This request cannot be handled",
    403: "You do not have access to this",
    404: "Page not found",
    409: "That change could not be made",
    412: "This changed meanwhile",
    413: "That is too large",
    422: "That request could not be used",
    429: "Too many attempts",
    503: "Try again later",
}


def is_page_request(request: Request) -> bool:
    return isinstance(request.scope.get("route"), PageRoute)


def error_page(request: Request, error: GoalpathError) -> Response:
    """A refusal as a page with its status. The request's transaction has been rolled
    back by the time this runs (the error left the endpoint through the session
    dependency), so nothing here reads the database."""
    status = error.status_code
    # The same words whether the record is absent or out of scope (SPEC section 5).
    message = (
        "This page does not exist, or you do not have access to it."
        if status == 404
        else error.detail
    )
    headers = (
        {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyRequests) else None
    )
    if request.headers.get("hx-request") == "true":
        # htmx swaps only 2xx answers: the page the fragment belonged to is loaded
        # whole instead, and says what is wrong itself.
        current = urlsplit(request.headers.get("hx-current-url", "")).path
        return Response(status_code=200, headers={"HX-Redirect": local_path(current)})
    return render(
        request,
        "error.html",
        {"heading": _ERROR_HEADINGS.get(status, "Something went wrong"), "message": message},
        status_code=status,
        headers=headers,
    )


async def page_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GoalpathError)
    if not is_page_request(request):
        return await api_error_handler(request, exc)
    return error_page(request, exc)


async def page_redirect_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRedirect)
    response: Response
    if request.headers.get("hx-request") == "true":
        # htmx would follow a 303 inside the page and swap the sign-in form into a
        # fragment; HX-Redirect makes it load the whole page instead.
        response = Response(status_code=200, headers={"HX-Redirect": exc.location})
    else:
        response = RedirectResponse(exc.location, status_code=303)
    if exc.message:
        set_flash(request, response, exc.message)
    return response


def local_path(target: str | None, default: str = HOME_PATH) -> str:
    """`target` when it is a path on this site, else `default` (no open redirect).

    "//host" and "/\\host" are other hosts to a browser, and control characters can be
    read as whitespace that hides one."""
    if (
        not target
        or len(target) > _MAX_NEXT_LENGTH
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(character) < 0x20 or ord(character) == 0x7F for character in target)
    ):
        return default
    return target


def sign_in_location(request: Request) -> str:
    if request.method != "GET":
        # The form that was posted is gone; coming back to a POST-only path would fail.
        return SIGN_IN_PATH
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if target == HOME_PATH:
        return SIGN_IN_PATH
    return f"{SIGN_IN_PATH}?next={quote(target, safe='/')}"


def _remember_viewer(request: Request, db: Session, principal: Principal) -> None:
    user = principal.user
    # The role's name and the home district's zone and country, in one statement.
    role_name, time_zone, country = db.execute(
        select(Role.name, SchoolDistrict.time_zone, SchoolDistrict.country_code)
        .select_from(User)
        .outerjoin(Role, Role.id_role == User.id_role)
        .outerjoin(
            SchoolDistrict, SchoolDistrict.id_school_district == User.id_school_district_home
        )
        .where(User.id_user == user.id_user)
    ).one()
    request.state.viewer = Viewer(
        principal=principal,
        role=role_name,
        grants=load_grants(db, user.id_user, user.id_role),
        display_name=user.name or user.email or "",
        locale=Locale(time_zone or DEFAULT_LOCALE.time_zone, (country or "US") == "US"),
    )


def page_principal(request: Request, db: DbSession) -> Principal:
    """The signed-in principal, or a redirect to the sign-in page (or, with an expired
    password, to the change-password page; without the second factor a role requires,
    to its set-up page)."""
    try:
        principal = current_principal(request, db)
    except Unauthorized:
        raise PageRedirect(sign_in_location(request)) from None
    except SecondFactorEnrolmentRequired:
        raise SecondFactorEnrolmentPending from None
    except Forbidden:
        # current_principal refuses only an expired password, and lets it through to
        # the API's change endpoint alone; its page is the change-password page.
        raise PasswordChangeRequired from None
    _remember_viewer(request, db, principal)
    return principal


def _session_principal(request: Request, db: Session) -> Principal:
    """The session's principal without the checks that confine a session to a few
    pages, for those pages alone."""
    token, via_cookie = presented_token(request)
    resolved = resolve_session(db, app_settings(request), token or "", now=now(request))
    if resolved is None:
        raise PageRedirect(sign_in_location(request))
    record, user = resolved
    principal = Principal(
        user=user,
        session=record,
        via_cookie=via_cookie,
        second_factor_enrolment_required=enrolment_required(db, user),
    )
    _remember_viewer(request, db, principal)
    return principal


def page_principal_even_if_expired(request: Request, db: DbSession) -> Principal:
    """For the pages an expired password, or a second factor still to be set up, may
    reach: change the password, or sign out (SPEC sections 4 and 12)."""
    try:
        return page_principal(request, db)
    except (PasswordChangeRequired, SecondFactorEnrolmentPending):
        return _session_principal(request, db)


def page_principal_while_enrolling(request: Request, db: DbSession) -> Principal:
    """For the second-factor pages, which a role's requirement must not lock out; an
    expired password is still changed first."""
    try:
        return page_principal(request, db)
    except SecondFactorEnrolmentPending:
        return _session_principal(request, db)


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def page_actor(principal: PagePrincipal, request: Request, db: DbSession) -> Actor:
    """The API's actor (authz, audit trail, request time and IP) for the page's
    signed-in principal: built by the API's own `current_actor`, so a page decides
    access exactly as an API request by the same user would."""
    return current_actor(principal, request, db)


PageActor = Annotated[Actor, Depends(page_actor)]
ExpiredPagePrincipal = Annotated[Principal, Depends(page_principal_even_if_expired)]
EnrollingPagePrincipal = Annotated[Principal, Depends(page_principal_while_enrolling)]


def viewer_of(request: Request) -> Viewer | None:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else None


def has_page(request: Request, path: str) -> bool:
    """Whether a GET of `path` reaches a route of this app (asked through the router's
    own matching, which also sees the routes of included routers)."""
    probe: Scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    return any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes)


def navigation(request: Request, viewer: Viewer | None) -> list[dict[str, Any]]:
    if viewer is None or viewer.principal.second_factor_enrolment_required:
        # Every menu page would only send them back to the set-up page.
        return []
    return [
        {"label": link.label, "path": link.path, "current": request.url.path == link.path}
        for link in NAV_LINKS
        if (link.needs is None or viewer.grants.holds(*link.needs)) and has_page(request, link.path)
    ]


def _flash_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app_settings(request).signing_key(), salt="goalpath.flash")


def redirect_with_flash(request: Request, location: str, message: str) -> RedirectResponse:
    """A 303 whose target page shows `message` once (post/redirect/get).

    The message is signed, so another site cannot plant a cookie that makes Goalpath
    show its text."""
    response = RedirectResponse(location, status_code=303)
    set_flash(request, response, message)
    return response


def set_flash(request: Request, response: Response, message: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        _flash_serializer(request).dumps(message),
        max_age=FLASH_SECONDS,
        httponly=True,
        samesite="lax",
        secure=app_settings(request).secure_cookies,
        path="/",
    )


def _take_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        message = _flash_serializer(request).loads(raw, max_age=FLASH_SECONDS)
    except BadSignature:
        return None
    return message if isinstance(message, str) else None


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A page, with what base.html needs: the CSRF token, the viewer and their menu,
    and any flash message."""
    viewer = viewer_of(request)
    flashes = list((context or {}).get("flashes", ()))
    flash = _take_flash(request)
    if flash:
        flashes.insert(0, flash)
    values: dict[str, Any] = {
        "errors": {},
        "form_error": None,
        **(context or {}),
        "csrf_token": csrf_token(request) or "",
        "viewer": viewer,
        "user": viewer.principal.user if viewer else None,
        "nav": navigation(request, viewer),
        "flashes": flashes,
    }
    response = templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(
            FLASH_COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=app_settings(request).secure_cookies,
        )
    return response
