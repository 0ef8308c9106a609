"""RFC 9457 problem details: every error a client sees has this shape.

Nothing from an exception's internals (stack, SQL, driver message) is ever rendered:
unexpected errors become a generic 500 whose details go to the server log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from goalpath.errors import GoalpathError, TooManyRequests
from goalpath.kit.headers import BASE_HEADERS

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("goalpath.errors")


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        fields.append(
            {
                "field": ".".join(location) or "body",
                "message": str(error.get("msg", "invalid value")),
                "code": str(error.get("type", "invalid")),
            }
        )
    return fields


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GoalpathError)
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status_code, exc.detail, title=exc.title, errors=exc.errors, headers=headers
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            422,
            "The request is not valid; see errors for each field.",
            title="Validation failed",
            errors=_field_errors(exc),
        )

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None
        )

    async def database_busy(request: Request, exc: Exception) -> JSONResponse:
        """The database could not take the request in time (the pool, SQLite's write
        lock): the client may retry, so this is 503 with Retry-After, not a failure."""
        if isinstance(exc, OperationalError) and not _is_lock_timeout(exc):
            return await unexpected_error(request, exc)
        logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            503,
            "The service is busy right now; please try again in a moment.",
            headers={**BASE_HEADERS, "Cache-Control": "no-store", "Retry-After": "1"},
        )

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        # This answer is made outside every middleware, so it carries its own headers.
        return problem_response(
            500,
            "An unexpected error occurred. It has been logged.",
            headers={**BASE_HEADERS, "Cache-Control": "no-store"},
        )

    app.add_exception_handler(GoalpathError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PoolTimeout, database_busy)
    app.add_exception_handler(OperationalError, database_busy)
    app.add_exception_handler(Exception, unexpected_error)


def _is_lock_timeout(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    # SQLite's busy timeout ran out; MariaDB's lock wait timeout (1205).
    return "database is locked" in message or "lock wait timeout" in message


_DEFAULT_DESCRIPTIONS = {
    400: "Bad request",
    401: "No valid session",
    403: "Not allowed for this user",
    404: "Absent, or outside the user's scope",
    409: "Conflicts with existing records",
    412: "Stale If-Match",
    422: "Invalid input; see errors",
    429: "Rate limited; see Retry-After",
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses an endpoint can answer.

    `descriptions` override the defaults by status, spelled `s404="..."`."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        documented[status] = {
            "description": descriptions.get(f"s{status}", _DEFAULT_DESCRIPTIONS.get(status, "")),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
    return documented
