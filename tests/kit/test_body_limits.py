"""Request bodies are bounded before they are read and slow ones time out (SPEC 16).

The attacks go through raw sockets to the real server (uvicorn with `goalpath serve`'s
options, in this process), because a test client would frame, buffer or time the
request itself and hide what a hostile client can do.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.app import create_app
from goalpath.cli import KEEP_ALIVE_SECONDS, MAX_HEADER_BYTES, server_options
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.kit.bodylimit import BodyLimitMiddleware
from goalpath.models import AuditEvent, User, UserSession
from tests.conftest import Clock, make_settings
from tests.fixtures.factories import make_user
from tests.fixtures.live import LiveServer, serve

# Slow-body answers are checked against a time window: run alone (tools/run_tests.py).
pytestmark = pytest.mark.serial

LIMIT = 1024 * 1024
LOGIN = "/api/v1/auth/login"
EMAIL = "casey.morgan@lakeside.example"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == PROBLEM, self.headers
        document: dict[str, Any] = json.loads(self.body)
        assert document["status"] == self.status
        return document


@contextmanager
def connect(server: LiveServer, timeout: float = 10) -> Iterator[socket.socket]:
    with closing(socket.create_connection((server.host, server.port), timeout=timeout)) as sock:
        yield sock


def head(method: str, path: str, server: LiveServer, *lines: str) -> bytes:
    return (
        "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {server.host}:{server.port}", *lines])
        + "\r\n\r\n"
    ).encode("latin-1")


def read_response(sock: socket.socket) -> RawResponse:
    """One response: by its Content-Length, else up to the server closing."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        while len(body) < int(headers["content-length"]):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    else:
        while chunk := sock.recv(65536):
            body += chunk
    return RawResponse(int(status_line.split()[1]), headers, body)


def send_quietly(sock: socket.socket, *parts: bytes) -> threading.Thread:
    """Send from another thread, as a client that keeps sending while the server answers;
    a server that stops reading and closes is what the tests want, not an error."""

    def run() -> None:
        try:
            for part in parts:
                sock.sendall(part)
        except OSError:
            pass

    sender = threading.Thread(target=run, daemon=True)
    sender.start()
    return sender


def chunked(body: bytes, size: int = 64 * 1024) -> list[bytes]:
    frames = [
        f"{len(body[start : start + size]):x}\r\n".encode() + body[start : start + size] + b"\r\n"
        for start in range(0, len(body), size)
    ]
    return [*frames, b"0\r\n\r\n"]


def login_body(size: int) -> bytes:
    """A well-formed sign-in with a wrong password, padded with JSON whitespace to
    `size` bytes: if the app ever read it, the account would count a failed sign-in."""
    start = json.dumps({"email": EMAIL, "password": "not-the-password"})[:-1]
    padding = size - len(start) - 1
    assert padding >= 0
    return (start + " " * padding + "}").encode()


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass(frozen=True)
class Trail:
    failed_attempts: int
    audit_events: int
    sessions: int


def trail(database: Database, id_user: int) -> Trail:
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        return Trail(
            failed_attempts=user.failed_login_attempts,
            audit_events=session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            sessions=session.scalar(select(func.count()).select_from(UserSession)) or 0,
        )


@pytest.fixture
def account(database: Database, settings: Settings) -> int:
    return make_user(database, settings, email=EMAIL)


def app_with(
    database: Database, clock: Clock, database_url: str, workdir: Path, **overrides: Any
) -> FastAPI:
    application = create_app(make_settings(database_url, workdir, **overrides), database)
    application.state.clock = clock
    return application


def test_the_limit_is_one_mib_unless_set(settings: Settings) -> None:
    assert settings.max_body_bytes == LIMIT
    assert settings.body_timeout_seconds == 15


def test_an_announced_300_mib_body_is_refused_before_it_is_sent(
    app: FastAPI, account: int, database: Database
) -> None:
    before = trail(database, account)
    with serve(app) as server, connect(server) as sock:
        rss_before = rss_bytes()
        sock.sendall(
            head(
                "POST",
                LOGIN,
                server,
                "Content-Type: application/json",
                "Content-Length: 314572800",
            )
            + b'{"email'
        )
        started = time.monotonic()
        response = read_response(sock)
        elapsed = time.monotonic() - started
        grown = rss_bytes() - rss_before
    assert response.status == 413
    assert elapsed < 2
    assert grown < 50 * 1024 * 1024
    problem = response.problem()
    assert problem["detail"] == "The request body is larger than the 1 MiB this address accepts."
    assert response.headers["connection"] == "close"
    assert trail(database, account) == before


def test_a_client_that_asks_before_sending_is_not_invited_to_send(app: FastAPI) -> None:
    """With `Expect: 100-continue` the answer is the refusal, never `100 Continue`."""
    with serve(app) as server, connect(server) as sock:
        sock.sendall(
            head(
                "POST",
                LOGIN,
                server,
                "Content-Type: application/json",
                "Content-Length: 314572800",
                "Expect: 100-continue",
            )
        )
        response = read_response(sock)
    assert response.status == 413


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize(
    ("size", "refused"), [(LIMIT, False), (LIMIT + 1, True)], ids=["at-limit", "one-over"]
)
def test_a_body_over_the_limit_never_reaches_the_app(
    app: FastAPI, account: int, database: Database, framing: str, size: int, refused: bool
) -> None:
    """The limit is inclusive; past it the request is refused whether the length is
    announced or only counted (chunked), and the sign-in inside is never attempted."""
    before = trail(database, account)
    body = login_body(size)
    if framing == "chunked":
        framing_header, parts = "Transfer-Encoding: chunked", chunked(body)
    else:
        framing_header, parts = f"Content-Length: {len(body)}", [body]
    with serve(app) as server, connect(server) as sock:
        sock.sendall(head("POST", LOGIN, server, "Content-Type: application/json", framing_header))
        sender = send_quietly(sock, *parts)
        response = read_response(sock)
        sender.join(timeout=10)
    after = trail(database, account)
    if refused:
        assert response.status == 413
        assert "larger than the 1 MiB" in response.problem()["detail"]
        assert after == before
    else:
        # The app read the whole body and tried the sign-in.
        assert response.status == 401, response.body
        assert after.failed_attempts == before.failed_attempts + 1


@pytest.fixture
def impatient_app(
    database: Database,
    clock: Clock,
    database_url: str,
    workdir: Path,
    reference_baseline: dict[str, int],
) -> FastAPI:
    return app_with(database, clock, database_url, workdir, body_timeout_seconds=1)


@pytest.mark.parametrize(
    ("at_once", "interval"), [(0, 1.0), (90, 0.25)], ids=["byte-per-second", "trickle"]
)
def test_a_slow_body_is_answered_408_and_changes_nothing(
    impatient_app: FastAPI, account: int, database: Database, at_once: int, interval: float
) -> None:
    """A byte a second; or most of the body at once and the rest a byte every quarter
    second, so that every chunk comes within the timeout but the whole body does not."""
    before = trail(database, account)
    body = login_body(100)
    with serve(impatient_app) as server, connect(server) as sock:
        sock.sendall(
            head("POST", LOGIN, server, "Content-Type: application/json", "Content-Length: 100")
            + body[:at_once]
        )
        started = time.monotonic()
        trickle = [body[index : index + 1] for index in range(at_once, 100)]

        def drip() -> None:
            for byte in trickle:
                time.sleep(interval)
                try:
                    sock.sendall(byte)
                except OSError:
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        response = read_response(sock)
        elapsed = time.monotonic() - started
        dripper.join(timeout=5)
    assert response.status == 408
    assert 0.9 <= elapsed < 2.0, elapsed
    assert response.problem()["detail"] == (
        "The request body did not arrive within 1 second; send it again on a faster connection."
    )
    assert trail(database, account) == before


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_sign_in_form_over_the_limit_is_refused(
    app: FastAPI, account: int, database: Database, framing: str
) -> None:
    """The CSRF middleware reads a whole form to find its token: the limit comes first,
    and also bounds what it reads when no length is announced."""
    before = trail(database, account)
    body = b"email=" + EMAIL.encode() + b"&password=" + b"x" * (2 * LIMIT)
    if framing == "chunked":
        framing_header, parts = "Transfer-Encoding: chunked", chunked(body)
    else:
        framing_header, parts = f"Content-Length: {len(body)}", [body]
    with serve(app) as server, connect(server) as sock:
        sock.sendall(
            head(
                "POST",
                "/sign-in",
                server,
                "Content-Type: application/x-www-form-urlencoded",
                "Accept: text/html",
                framing_header,
            )
        )
        sender = send_quietly(sock, *parts)
        response = read_response(sock)
        sender.join(timeout=10)
    assert response.status == 413
    response.problem()
    assert trail(database, account) == before


@pytest.mark.parametrize("value", ["abc", "-1", "12, 13", "0x10"])
def test_a_malformed_content_length_is_refused_by_the_server(app: FastAPI, value: str) -> None:
    with serve(app) as server:
        with connect(server) as sock:
            sock.sendall(
                head(
                    "POST",
                    LOGIN,
                    server,
                    "Content-Type: application/json",
                    f"Content-Length: {value}",
                )
                + b"{}"
            )
            response = read_response(sock)
        assert response.status == 400
        # The server goes on serving.
        with connect(server) as sock:
            sock.sendall(head("GET", "/healthz", server, "Connection: close"))
            assert read_response(sock).status == 200


def test_headers_past_16_kib_are_refused_by_the_server(app: FastAPI) -> None:
    """h11 bounds what it buffers of headers still incomplete, which is what keeps an
    endless header from filling memory."""
    with serve(app) as server:
        with connect(server) as sock:
            sock.sendall(head("GET", "/healthz", server, "X-Padding: " + "a" * (8 * 1024)))
            assert read_response(sock).status == 200
        with connect(server) as sock:
            unfinished = head("GET", "/healthz", server, "X-Padding: " + "a" * 2 * MAX_HEADER_BYTES)
            sock.sendall(unfinished[:-4])
            assert read_response(sock).status in (400, 431)


def test_connections_beyond_the_maximum_are_answered_503(
    database: Database,
    clock: Clock,
    database_url: str,
    workdir: Path,
    reference_baseline: dict[str, int],
) -> None:
    crowded = app_with(database, clock, database_url, workdir, server_max_connections=2)
    with serve(crowded) as server:
        with connect(server) as first, connect(server) as second:
            for idle in (first, second):
                idle.sendall(head("GET", "/healthz", server))
                assert read_response(idle).status == 200
            with connect(server) as third:
                third.sendall(head("GET", "/healthz", server, "Connection: close"))
                assert read_response(third).status == 503
        deadline = time.monotonic() + 5
        while True:
            with connect(server) as later:
                later.sendall(head("GET", "/healthz", server, "Connection: close"))
                if read_response(later).status == 200:
                    break
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.05)


def test_the_servers_limits_are_explicit(settings: Settings) -> None:
    options = server_options(settings)
    assert options["http"] == "h11"
    assert options["h11_max_incomplete_event_size"] == MAX_HEADER_BYTES == 16 * 1024
    assert options["timeout_keep_alive"] == KEEP_ALIVE_SECONDS == 5
    assert settings.server_max_connections == 200
    assert options["limit_concurrency"] == 201


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_the_413_problem_carries_no_internals(client: TestClient, streamed: bool) -> None:
    body = b" " * (LIMIT + 1)
    content: Any = iter([body[:LIMIT], body[LIMIT:]]) if streamed else body
    response = client.post(LOGIN, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": "The request body is larger than the 1 MiB this address accepts.",
    }
    for internal in ("Traceback", 'File "', "ClientDisconnect", "starlette", "goalpath."):
        assert internal not in response.text
    # Made outside the security-headers middleware, it carries the headers itself.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


class Recorder:
    """A stand-in app that reads the whole body and records what it was given."""

    def __init__(self) -> None:
        self.body = b""
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def run_asgi(
    middleware: BodyLimitMiddleware, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, dict[str, Any] | None]:
    sent: list[dict[str, Any]] = []
    chunks = [body[start : start + 4] for start in range(0, len(body), 4)] or [b""]

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    anyio.run(middleware, scope, receive, send)
    status = sent[0]["status"]
    payload = b"".join(message.get("body", b"") for message in sent[1:])
    return status, json.loads(payload) if payload else None


@pytest.mark.parametrize("value", [b"abc", b"-1", b"12, 13", b"", b"1 2", b"\xff"])
def test_the_middleware_answers_a_malformed_length_with_a_problem(value: bytes) -> None:
    """Servers other than uvicorn's h11 may pass such a header on; the app never runs."""
    recorder = Recorder()
    status, problem = run_asgi(
        BodyLimitMiddleware(recorder, max_body_bytes=10), "/x", [(b"content-length", value)], b""
    )
    assert status == 400
    assert problem is not None
    assert problem["detail"] == "The Content-Length header is not a valid length in bytes."
    assert not recorder.called


def test_the_middleware_accepts_a_repeated_equal_length_and_a_huge_one() -> None:
    recorder = Recorder()
    middleware = BodyLimitMiddleware(recorder, max_body_bytes=10)
    status, _ = run_asgi(middleware, "/x", [(b"content-length", b"5, 5")], b"hello")
    assert (status, recorder.body) == (204, b"hello")
    # More digits than Python converts to int by default: simply too large.
    status, _ = run_asgi(middleware, "/x", [(b"content-length", b"9" * 5000)], b"")
    assert status == 413


def test_a_path_prefix_may_allow_a_larger_body() -> None:
    middleware = BodyLimitMiddleware(
        Recorder(),
        max_body_bytes=10,
        overrides={"/api/v1/rosters": 100, "/api/v1/rosters/big": 1000},
    )
    assert middleware.limit_for("/api/v1/rosters") == 100
    assert middleware.limit_for("/api/v1/rosters/upload") == 100
    assert middleware.limit_for("/api/v1/rosters/big/one") == 1000
    assert middleware.limit_for("/api/v1/rosters-other") == 10
    assert middleware.limit_for("/api/v1/users") == 10
    recorder = Recorder()
    allowed = BodyLimitMiddleware(recorder, max_body_bytes=10, overrides={"/upload": 100})
    assert run_asgi(allowed, "/upload", [], b"x" * 50)[0] == 204
    assert recorder.body == b"x" * 50
    assert run_asgi(allowed, "/elsewhere", [], b"x" * 50)[0] == 413
