"""Each client gets its share of the server (SPEC section 16): a burst from one client,
signed in or not, cannot take every worker thread and make everyone else wait.

A plain ASGI middleware that bounds how many requests of one client run at once: a
signed-in client is its session (the token, hashed), anyone else their IP address (as
the rate limits see it, proxies included). Requests beyond a client's share wait here,
holding no thread and no database connection, and run as that client's earlier ones
finish; other clients' requests are not queued behind them. Rate limits still decide
how many a client may send at all; this decides how many run at the same moment.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

# Paths that touch no database and need no share: the process health check and the
# vendored static files.
_FREE_PREFIXES = ("/healthz", "/static/")


@dataclass
class _Share:
    gate: asyncio.Semaphore
    holders: int = field(default=0)


def _token(scope: Scope, cookie_name: bytes) -> bytes | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                return credentials.strip()
        elif name == b"cookie":
            for part in value.split(b";"):
                key, _, cookie = part.strip().partition(b"=")
                if key == cookie_name and cookie:
                    return cookie
    return None


class FairShareMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        per_session: int,
        per_anonymous_address: int,
        session_cookie: str,
        client_address: Callable[[Scope], str],
    ) -> None:
        self.app = app
        self.per_session = per_session
        self.per_anonymous_address = per_anonymous_address
        self.session_cookie = session_cookie.encode("latin-1")
        self.client_address = client_address
        self._shares: dict[str, _Share] = {}

    def _key(self, scope: Scope) -> tuple[str, int]:
        token = _token(scope, self.session_cookie)
        if token is not None:
            # A guessed or stolen-and-revoked token is still one client: its requests
            # share one allowance whether or not the token turns out valid.
            return "session:" + hashlib.sha256(token).hexdigest()[:32], self.per_session
        return "address:" + self.client_address(scope), self.per_anonymous_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_FREE_PREFIXES):
            await self.app(scope, receive, send)
            return
        key, limit = self._key(scope)
        share = self._shares.get(key)
        if share is None:
            share = self._shares[key] = _Share(asyncio.Semaphore(limit))
        share.holders += 1
        try:
            async with share.gate:
                await self.app(scope, receive, send)
        finally:
            share.holders -= 1
            if share.holders == 0:
                # Nobody holds or awaits it: forget the client, so the table stays as
                # small as the number of clients with a request in flight.
                del self._shares[key]
