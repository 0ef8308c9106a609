"""Request bodies are bounded before they are read, and slow ones time out (SPEC 16).

A plain ASGI middleware, outside every other one: the CSRF middleware reads a whole
form to find its token, so a limit applied after it would come too late. A body
announced larger than the limit is refused from its headers alone, before a byte of it
is read; a body without `Content-Length` (chunked) is counted as the app receives it,
and the chunk that crosses the limit is never handed on.

A client that has not delivered the whole body within the timeout of the app's first
`receive()` is answered 408. When a refusal comes while the app is reading, the app is
told the client disconnected, so it gives up before any handler runs and nothing is
changed; what it answers then goes nowhere.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import anyio
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from goalpath.kit.headers import BASE_HEADERS
from goalpath.kit.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 15.0
# More digits than this cannot be a length any limit allows, and int() of a huge digit
# string is itself a cost (Python refuses beyond 4300 digits).
_MAX_LENGTH_DIGITS = 18
_DISCONNECT: Message = {"type": "http.disconnect"}
# A refused request's connection is closed: its unread body must not be parsed as the
# next request, and the server need not read the rest of it.
_REFUSAL_HEADERS = {**BASE_HEADERS, "Cache-Control": "no-store", "Connection": "close"}
# RFC 9110's name; Python before 3.13 still has the older "Request Entity Too Large".
_TITLES = {413: "Content Too Large"}


Value = TypeVar("Value", int, float)


class MalformedContentLength(ValueError):
    pass


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body length the client announced, None when it announced none.

    RFC 9110 section 8.6: the value is digits only; a repeated header (or a list) is
    acceptable only when every value is the same."""
    values: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"content-length":
            values.update(part.strip() for part in value.split(b","))
    if not values:
        return None
    if len(values) > 1:
        raise MalformedContentLength("differing values")
    (value,) = values
    if not value or not value.isdigit():
        raise MalformedContentLength("not a number")
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > _MAX_LENGTH_DIGITS:
        return sys.maxsize
    return int(digits)


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        overrides: dict[str, int] | None = None,
        timeout_overrides: dict[str, float] | None = None,
    ) -> None:
        """`overrides` maps a path prefix to the limit of the paths under it (an upload
        that needs more than JSON and forms do), `timeout_overrides` to their timeout (a
        large upload takes longer to arrive); the longest matching prefix wins."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds
        self.overrides = {prefix.rstrip("/"): limit for prefix, limit in (overrides or {}).items()}
        self.timeout_overrides = {
            prefix.rstrip("/"): seconds for prefix, seconds in (timeout_overrides or {}).items()
        }

    def limit_for(self, path: str) -> int:
        return _longest_prefix(self.overrides, path, self.max_body_bytes)

    def timeout_for(self, path: str) -> float:
        return _longest_prefix(self.timeout_overrides, path, self.timeout_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        try:
            length = declared_length(scope["headers"])
        except MalformedContentLength:
            await _refuse(
                scope, send, 400, "The Content-Length header is not a valid length in bytes."
            )
            return
        if length is not None and length > limit:
            await _refuse(scope, send, 413, _too_large(limit))
            return
        timeout = self.timeout_for(scope["path"])
        await _GuardedRequest(self.app, limit, timeout)(scope, receive, send)


def _longest_prefix(values: dict[str, Value], path: str, default: Value) -> Value:
    matches = [
        prefix
        for prefix in values
        if path == prefix or path.startswith(prefix + "/") or prefix == ""
    ]
    if not matches:
        return default
    return values[max(matches, key=len)]


class _GuardedRequest:
    """One request's body count, deadline and whether its answer has begun."""

    def __init__(self, app: ASGIApp, limit: int, timeout_seconds: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout_seconds = timeout_seconds
        self.received = 0
        self.deadline: float | None = None
        self.body_complete = False
        self.response_started = False
        self.refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def guarded_receive() -> Message:
            return await self.receive(scope, receive, send)

        async def guarded_send(message: Message) -> None:
            if self.refused:
                # The client has its answer, and a server drops what is sent after a
                # real disconnect too.
                return
            if message["type"] == "http.response.start":
                self.response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except ClientDisconnect:
            if not self.refused:
                raise

    async def receive(self, scope: Scope, receive: Receive, send: Send) -> Message:
        if self.refused:
            return _DISCONNECT
        if self.body_complete:
            # Later calls wait for the client to go away while a response streams; they
            # are no part of reading the body and must not time out.
            return await receive()
        if self.deadline is None:
            self.deadline = anyio.current_time() + self.timeout_seconds
        message: Message | None = None
        # Each wait is bounded by what remains of the whole body's time, so neither one
        # slow chunk nor many slow chunks can hold the request open past it.
        with anyio.move_on_after(max(self.deadline - anyio.current_time(), 0)):
            message = await receive()
        if message is None:
            return await self.refuse(
                scope,
                send,
                408,
                f"The request body did not arrive within {_seconds(self.timeout_seconds)}; "
                "send it again on a faster connection.",
            )
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                return await self.refuse(scope, send, 413, _too_large(self.limit))
            if not message.get("more_body", False):
                self.body_complete = True
        return message

    async def refuse(self, scope: Scope, send: Send, status: int, detail: str) -> Message:
        self.refused = True
        if not self.response_started:
            self.response_started = True
            await _refuse(scope, send, status, detail)
        return _DISCONNECT


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    response = problem_response(status, detail, title=_TITLES.get(status), headers=_REFUSAL_HEADERS)

    async def nothing_to_read() -> Message:
        return _DISCONNECT

    await response(scope, nothing_to_read, send)


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {_size(limit)} this address accepts."


def _size(limit: int) -> str:
    units: list[tuple[int, str]] = [(1024 * 1024, "MiB"), (1024, "KiB")]
    for factor, unit in units:
        if limit >= factor and limit % factor == 0:
            return f"{limit // factor} {unit}"
    return f"{limit} bytes"


def _seconds(seconds: float) -> str:
    number = f"{seconds:g}"
    return f"{number} second" if number == "1" else f"{number} seconds"
