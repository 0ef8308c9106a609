"""A burst of failing requests cannot starve the server (SPEC section 16).

A refused request writes its audit row on its own connection (with its commit, or after
its rollback), and a session's last-seen time goes out the same way, so no request
ever waits for a second connection from the pool it holds one of.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent
from tests.conftest import Clock, make_settings
from tests.fixtures import demo
from tests.fixtures.live import serve
from tests.health_notes.support import other_district
from tests.students.support import sign_in

BURST = 100


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def one_connection_app(
    database_url: str, workdir: Path, database: Database, clock: Clock
) -> Iterator[FastAPI]:
    """The app with a pool of exactly one connection: a request that needed a second
    one would wait for itself and time out."""
    settings = make_settings(
        database_url,
        workdir,
        db_pool_size=1,
        db_pool_overflow=0,
        db_pool_timeout_seconds=3,
    )
    narrow = Database(settings)
    application = create_app(settings, narrow)
    application.state.clock = clock
    yield application
    narrow.dispose()


def audit_rows(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_every_refusal_is_answered_and_audited_on_one_connection(
    one_connection_app: FastAPI,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    outsider = other_district(database, settings)
    with TestClient(one_connection_app, raise_server_exceptions=False) as client:
        case_manager = sign_in(client, settings, "case_manager")
        admin = sign_in(client, settings, "district_admin")
        # Past the touch interval, so each signed-in request below also writes its
        # session's last-seen time.
        clock.advance(seconds=90)
        before = audit_rows(database)
        attempts: list[tuple[Callable[[], httpx.Response], int]] = [
            (
                lambda: client.post(
                    "/api/v1/auth/login",
                    json={"email": "nobody@nowhere.example", "password": "not-a-password-at-all"},
                ),
                401,
            ),
            (
                lambda: client.post(
                    "/api/v1/auth/login",
                    json={"email": "marcus.oyelaran@riverbend-usd.example", "password": "wrong"},
                ),
                401,
            ),
            (
                lambda: client.post(
                    "/api/v1/auth/password-reset/confirm",
                    json={"token": "x" * 43, "password": "a quiet lantern by the harbor"},
                ),
                400,
            ),
            (
                lambda: client.get(f"/api/v1/students/{outsider.id_student}", headers=case_manager),
                404,
            ),
            (
                lambda: client.get(
                    f"/api/v1/students/{outsider.id_student}/health-notes", headers=admin
                ),
                404,
            ),
            (lambda: client.post("/api/v1/roles", json={"name": "x"}, headers=admin), 403),
            (lambda: client.get("/api/v1/auth/me", headers=case_manager), 200),
        ]
        for send, expected in attempts:
            response = send()
            assert response.status_code == expected, response.text
    # Every refusal left its row, though the request was rolled back.
    assert audit_rows(database) >= before + 6


@pytest.mark.serial
def test_a_burst_of_failing_requests_starves_no_one(
    app: FastAPI, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    outsider = other_district(database, settings)
    with TestClient(app) as client:
        reader = sign_in(client, settings, "case_manager")
        prober = sign_in(client, settings, "case_manager", 1)
    kinds: list[tuple[str, Callable[[httpx.Client, int], httpx.Response]]] = [
        (
            "unknown sign-in",
            lambda http, n: http.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{n}@nowhere.example", "password": "not-a-password-x"},
            ),
        ),
        (
            "bad reset token",
            lambda http, n: http.post(
                "/api/v1/auth/password-reset/confirm",
                json={"token": f"{n:043d}", "password": "a quiet lantern by the harbor"},
            ),
        ),
        (
            "out-of-scope read",
            lambda http, _n: http.get(f"/api/v1/students/{outsider.id_student}", headers=prober),
        ),
    ]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(BURST + 1)

    def attack(number: int) -> None:
        _, send = kinds[number % len(kinds)]
        with httpx.Client(base_url=server.url, timeout=120) as http:
            start.wait()
            status = send(http, number).status_code
        with lock:
            statuses.append(status)

    with serve(app) as server:
        threads = [threading.Thread(target=attack, args=(n,)) for n in range(BURST)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=server.url, timeout=120) as http:
            http.get("/healthz")
            start.wait()
            # Let the burst get going, then read as a signed-in person would.
            time.sleep(0.05)
            began = time.monotonic()
            answer = http.get("/api/v1/students", headers=reader)
            waited = time.monotonic() - began
        for thread in threads:
            thread.join(timeout=180)
    assert answer.status_code == 200
    assert len(statuses) == BURST
    assert sorted(set(statuses)) == [400, 401, 404], statuses
    assert waited < 1.0, f"a signed-in read waited {waited:.2f} s behind the burst"
