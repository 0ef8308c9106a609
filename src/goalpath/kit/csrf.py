"""CSRF protection for cookie-authenticated requests (OWASP ASVS 5.0 V3.5).

starlette-csrf's double-submit cookie: a signed `csrftoken` cookie, echoed by the
client in the `X-CSRFToken` header (or a `csrftoken` form field for plain HTML forms).
It is enforced on requests that carry the session cookie, so bearer-token API clients,
which browsers cannot be tricked into sending, are not affected. It is also enforced on
every HTML form post without an Authorization header, signed in or not: a form is how
another site makes a browser post, and a forged sign-in form would sign the victim into
the attacker's account (login CSRF, OWASP's CSRF cheat sheet).

A browser's first page has no cookie to read the token from, so the token is made
before the endpoint runs: the page embeds `csrf_token(request)` and the response sets
the cookie to that same token.

A multipart form (a file upload, which may be hundreds of megabytes) is not read whole
to find its token: its parts are parsed as they arrive, up to the token, and what was
read is handed on ahead of the rest of the stream. So the token field must come before
the first file in the form (browsers send fields in document order), within the first
64 KiB.
"""

from __future__ import annotations

import http.cookies
from html import escape
from typing import TYPE_CHECKING, Any, cast

from itsdangerous import BadSignature
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette_csrf.middleware import CSRFMiddleware

from goalpath.kit.problems import problem_response

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
CSRF_FORM_FIELD = "csrftoken"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Where the middleware leaves a token it issues during this request (scope["state"]).
ISSUED_TOKEN_KEY = "goalpath_csrf_token"
# How much of a multipart body is read, at most, to find the token before a file.
MULTIPART_TOKEN_WINDOW = 64 * 1024
_REFUSED = "The CSRF token is missing or does not match; reload the page and try again."


def csrf_token(request: Request) -> str | None:
    """The token to embed in a page's forms: the one this response's cookie will carry
    when the middleware issues one, else the one the browser already holds."""
    state: dict[str, Any] = request.scope.get("state") or {}
    issued = state.get(ISSUED_TOKEN_KEY)
    if isinstance(issued, str):
        return issued
    return request.cookies.get(CSRF_COOKIE)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(FORM_CONTENT_TYPES)


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def _form_token(request: Request) -> str | None:
    try:
        async with request.form() as form:
            value = form.get(CSRF_FORM_FIELD)
    except (HTTPException, MultiPartException):
        # A body that is not a well-formed form carries no token: refused as forged,
        # not left to become a 500 outside the app's error handlers.
        return None
    return value if isinstance(value, str) else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the endpoint the body again: it was read here to find the form's token."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _TokenBeforeFiles:
    """Multipart callbacks that note the csrftoken field's value and stop at the end
    of it, or at the start of the first file."""

    def __init__(self) -> None:
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.in_token = False
        self.value = bytearray()
        self.token: str | None = None
        self.finished = False

    def callbacks(self) -> MultipartCallbacks:
        callbacks: dict[str, Any] = {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field_data,
            "on_header_value": self.header_value_data,
            "on_header_end": self.header_end,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }
        return cast("MultipartCallbacks", callbacks)

    def part_begin(self) -> None:
        self.in_token = False
        self.value.clear()

    def header_field_data(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def header_value_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if bytes(self.header_field).lower() == b"content-disposition":
            _kind, options = parse_options_header(bytes(self.header_value))
            if b"filename" in options:
                self.finished = True
            elif options.get(b"name") == CSRF_FORM_FIELD.encode():
                self.in_token = True
        self.header_field.clear()
        self.header_value.clear()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_token and not self.finished:
            self.value += data[start:end]
            if len(self.value) > 1024:
                self.finished = True

    def part_end(self) -> None:
        if self.in_token and not self.finished:
            self.token = self.value.decode("utf-8", "replace")
            self.finished = True


async def _multipart_token(request: Request, receive: Receive) -> tuple[str | None, Receive]:
    """The token of a multipart form, read from as few of its first messages as
    needed, and a receive channel that delivers those messages again, then the rest."""
    _kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    read: list[Message] = []
    finder = _TokenBeforeFiles()
    if boundary:
        parser = MultipartParser(boundary, finder.callbacks())
        seen = 0
        while not finder.finished and seen <= MULTIPART_TOKEN_WINDOW:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            try:
                parser.write(chunk)
            except MultipartParseError:
                break
            if not message.get("more_body", False):
                break

    async def replay() -> Message:
        if read:
            return read.pop(0)
        return await receive()

    return finder.token, replay


class GoalpathCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        cookie = request.cookies.get(self.cookie_name)
        if cookie is None or not self._is_signed(cookie):
            # A stale cookie (from before a key rotation, say) is replaced too, or every
            # form of this browser would be refused until the cookie expired.
            token = self._generate_csrf_token()
            scope.setdefault("state", {})[ISSUED_TOKEN_KEY] = token
            send = self._sending_cookie(send, token)
        if self._must_check(request):
            submitted = request.headers.get(self.header_name)
            if not submitted and _is_multipart(request):
                submitted, receive = await _multipart_token(request, receive)
            elif not submitted and _is_form(request):
                # Starlette does not cache a body for the next Request, so the one read
                # here is handed on with the receive channel.
                receive = _replay(await request.body(), receive)
                submitted = await _form_token(request)
            if not cookie or not submitted or not self._csrf_tokens_match(cookie, submitted):
                await self._get_error_response(request)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _must_check(self, request: Request) -> bool:
        if self._url_is_required(request.url):
            return True
        if request.method in self.safe_methods or self._url_is_exempt(request.url):
            return False
        if self._has_sensitive_cookies(request.cookies):
            return True
        # A cross-site form cannot set headers, so a request with Authorization is an API
        # client's, never a forged form.
        return _is_form(request) and "authorization" not in request.headers

    def _is_signed(self, token: str) -> bool:
        try:
            self.serializer.loads(token)
        except BadSignature:
            return False
        return True

    def _sending_cookie(self, send: Send, token: str) -> Send:
        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
                cookie[self.cookie_name] = token
                morsel = cookie[self.cookie_name]
                morsel["path"] = self.cookie_path
                morsel["secure"] = self.cookie_secure
                morsel["httponly"] = self.cookie_httponly
                morsel["samesite"] = self.cookie_samesite
                if self.cookie_domain is not None:
                    morsel["domain"] = self.cookie_domain
                MutableHeaders(scope=message).append("set-cookie", cookie.output(header="").strip())
            await send(message)

        return send_with_cookie

    def _get_error_response(self, request: Request) -> Response:
        if _is_form(request) and "text/html" in request.headers.get("accept", ""):
            # A person submitted a page's form: answer with a page, not JSON.
            return HTMLResponse(
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                "<title>Form expired · Goalpath</title></head><body><main>"
                "<h1>This form has expired</h1>"
                f"<p>{escape(_REFUSED)}</p>"
                '<p><a href="/">Go to the home page</a></p>'
                "</main></body></html>",
                status_code=403,
            )
        return problem_response(403, _REFUSED)
