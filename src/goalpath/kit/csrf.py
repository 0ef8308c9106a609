"""CSRF protection for cookie-authenticated requests (OWASP ASVS 5.0 V3.5).

starlette-csrf's double-submit cookie: a signed `csrftoken` cookie, echoed by the
client in the `X-CSRFToken` header (or a `csrftoken` form field for plain HTML forms).
It is enforced only on requests that carry the session cookie, so bearer-token API
clients, which browsers cannot be tricked into sending, are not affected.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette_csrf.middleware import CSRFMiddleware

from goalpath.kit.problems import problem_response

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
CSRF_FORM_FIELD = "csrftoken"


class GoalpathCSRFMiddleware(CSRFMiddleware):
    def _get_error_response(self, request: Request) -> Response:
        return problem_response(
            403, "The CSRF token is missing or does not match; reload the page and try again."
        )

    async def _get_submitted_csrf_token(self, request: Request) -> Any:
        submitted = request.headers.get(self.header_name)
        if submitted:
            return submitted
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FORM_FIELD)
            return value if isinstance(value, str) else None
        return None
