"""Domain errors that carry their HTTP status; `kit.problems` renders them."""

from __future__ import annotations

from typing import Any


class GoalpathError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(GoalpathError):
    status_code = 422
    title = "Validation failed"


class Unauthorized(GoalpathError):
    status_code = 401
    title = "Not signed in"


class Forbidden(GoalpathError):
    status_code = 403
    title = "Forbidden"


class NotFound(GoalpathError):
    status_code = 404
    title = "Not found"


class Conflict(GoalpathError):
    status_code = 409
    title = "Conflict"


class PreconditionFailed(GoalpathError):
    status_code = 412
    title = "Precondition failed"


class TooManyRequests(GoalpathError):
    status_code = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
