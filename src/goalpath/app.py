"""The application factory: settings, database, middleware, routers, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from anyio import to_thread
from fastapi import FastAPI

from goalpath import __version__
from goalpath.audit.api import router as audit_router
from goalpath.audit.pages import router as audit_pages
from goalpath.auth.api import router as auth_router
from goalpath.auth.oidc_pages import router as oidc_pages_router
from goalpath.auth.pages import router as auth_pages_router
from goalpath.auth.second_factor_pages import router as second_factor_pages_router
from goalpath.config import Settings, get_settings
from goalpath.db import Database
from goalpath.districts.api import router as districts_router
from goalpath.districts.district_pages import router as district_pages
from goalpath.districts.identity_providers import router as identity_providers_router
from goalpath.districts.pages import router as identity_provider_pages_router
from goalpath.errors import GoalpathError
from goalpath.goals.api import router as goals_router
from goalpath.goals.pages import router as goal_pages
from goalpath.health_notes.api import router as health_notes_router
from goalpath.health_notes.pages import router as health_note_pages
from goalpath.home.pages import router as home_pages
from goalpath.kit.bodylimit import BodyLimitMiddleware
from goalpath.kit.client_ip import scope_client_ip
from goalpath.kit.csrf import CSRF_COOKIE, CSRF_HEADER, GoalpathCSRFMiddleware
from goalpath.kit.fairness import FairShareMiddleware
from goalpath.kit.headers import install_security_headers
from goalpath.kit.problems import install_problem_handlers
from goalpath.kit.ratelimit import RateLimiter
from goalpath.mail.sender import mailer_from_settings
from goalpath.models.base import utcnow
from goalpath.ops.api import router as ops_router
from goalpath.ops.docs import docs_router, mount_static
from goalpath.programs.api import router as programs_router
from goalpath.programs.pages import router as program_pages
from goalpath.progress_events.api import router as progress_events_router
from goalpath.progress_events.pages import router as progress_event_pages
from goalpath.progress_reports.api import router as progress_reports_router
from goalpath.progress_reports.family_report import router as family_report_pages
from goalpath.progress_reports.pages import router as progress_report_pages
from goalpath.roles.api import router as roles_router
from goalpath.roles.pages import router as role_pages
from goalpath.rosters.pages import UPLOAD_PATH as ROSTER_UPLOAD_PATH
from goalpath.rosters.pages import router as roster_pages_router
from goalpath.student_access.api import router as student_access_router
from goalpath.student_access.pages import router as student_access_pages
from goalpath.students.api import router as students_router
from goalpath.students.pages import router as student_pages
from goalpath.students.record_pages import router as student_record_pages
from goalpath.users.api import router as users_router
from goalpath.users.pages import router as user_pages
from goalpath.users.service import passwords_from
from goalpath.web.admin import router as admin_pages
from goalpath.web.pages import PageRedirect, page_error_handler, page_redirect_handler

API_PREFIX = "/api/v1"
# Each domain's HTML pages, beside its API (the administration index first).
PAGE_ROUTERS = (
    admin_pages,
    district_pages,
    program_pages,
    user_pages,
    role_pages,
    student_access_pages,
    audit_pages,
    # /students/new before /students/{id_student}.
    student_record_pages,
    student_pages,
    goal_pages,
    progress_event_pages,
    health_note_pages,
    progress_report_pages,
    family_report_pages,
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The worker threads that run requests: as many as the pool has connections.
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield
        database.dispose()

    app = FastAPI(
        title="Goalpath",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = utcnow
    app.state.passwords = passwords_from(settings)
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    app.state.mailer = mailer_from_settings(settings)
    install_problem_handlers(app)
    app.add_exception_handler(PageRedirect, page_redirect_handler)
    app.add_exception_handler(GoalpathError, page_error_handler)
    app.add_middleware(
        GoalpathCSRFMiddleware,
        secret=settings.signing_key(),
        sensitive_cookies={settings.session_cookie_name},
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
    )
    install_security_headers(app, settings)
    app.add_middleware(
        FairShareMiddleware,
        per_session=settings.concurrent_per_session,
        per_anonymous_address=settings.concurrent_per_anonymous_address,
        session_cookie=settings.session_cookie_name,
        client_address=partial(scope_client_ip, trusted_proxies=settings.trusted_proxies),
    )
    # Added last, so outermost: no middleware (CSRF reads whole forms) sees a body before
    # it is bounded.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        timeout_seconds=settings.body_timeout_seconds,
        overrides={ROSTER_UPLOAD_PATH: settings.roster_upload_max_bytes},
        timeout_overrides={ROSTER_UPLOAD_PATH: settings.roster_upload_timeout_seconds},
    )
    app.include_router(ops_router)
    app.include_router(docs_router)
    app.include_router(home_pages)
    app.include_router(auth_pages_router)
    app.include_router(second_factor_pages_router)
    app.include_router(oidc_pages_router)
    app.include_router(identity_provider_pages_router)
    for pages in PAGE_ROUTERS:
        app.include_router(pages)
    app.include_router(roster_pages_router)
    app.include_router(auth_router, prefix=API_PREFIX)
    for router in (
        users_router,
        districts_router,
        identity_providers_router,
        programs_router,
        roles_router,
        student_access_router,
        audit_router,
        students_router,
        goals_router,
        health_notes_router,
        progress_events_router,
        progress_reports_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    mount_static(app)
    return app
