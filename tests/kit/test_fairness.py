"""Each client's share of the server: no more of one client's requests run at once than
its share, other clients are not queued behind them, and nothing is kept afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Scope, Send

from goalpath.kit.fairness import FairShareMiddleware


def scope(*, token: str | None = None, cookie: str | None = None, ip: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
    headers: list[tuple[bytes, bytes]] = []
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if cookie:
        headers.append((b"cookie", f"theme=dark; goalpath_session={cookie}".encode()))
    return {"type": "http", "path": "/api/v1/students", "headers": headers, "client": (ip, 5000)}


def test_one_client_runs_at_most_its_share_and_others_pass() -> None:
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    release = asyncio.Event()

    async def app(request_scope: Scope, _receive: Receive, _send: Send) -> None:
        who = request_scope["who"]
        running[who] = running.get(who, 0) + 1
        peak[who] = max(peak.get(who, 0), running[who])
        if who != "other":
            await release.wait()
        running[who] -= 1

    middleware = FairShareMiddleware(
        app,
        per_session=2,
        per_anonymous_address=3,
        session_cookie="goalpath_session",
        client_address=lambda request_scope: request_scope["client"][0],
    )

    async def call(request_scope: dict[str, Any]) -> None:
        await middleware(request_scope, _receive, _send)

    async def scenario() -> None:
        burst = [
            asyncio.create_task(call({**scope(token="stolen"), "who": "session"}))
            for _ in range(10)
        ] + [
            asyncio.create_task(call({**scope(cookie="stolen"), "who": "session"}))
            for _ in range(5)
        ]
        anonymous = [asyncio.create_task(call({**scope(), "who": "anonymous"})) for _ in range(9)]
        await asyncio.sleep(0.05)
        # Another client's request is answered while the burst waits.
        await asyncio.wait_for(call({**scope(token="mine"), "who": "other"}), timeout=1)
        assert running == {"session": 2, "anonymous": 3, "other": 0}
        release.set()
        await asyncio.gather(*burst, *anonymous)

    async def _receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def _send(_message: Any) -> None:
        return None

    asyncio.run(scenario())
    # The bearer token and the cookie carrying the same token are one client.
    assert peak == {"session": 2, "anonymous": 3, "other": 1}
    assert middleware._shares == {}
