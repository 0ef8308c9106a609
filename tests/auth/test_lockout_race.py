"""The lockout under a burst of concurrent guesses at a running server (SPEC section 4).

Each guess reserves its attempt in SQL before its password is checked, so a burst gets
exactly `lockout_threshold` real password checks, the account is locked once (one
`account.locked` row), and once it is locked even the right password is not checked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent
from tests.fixtures.factories import DEFAULT_PASSWORD, fetch_user, make_user
from tests.fixtures.live import LiveServer, serve
from tests.fixtures.passwords import CountingPasswords

EMAIL = "casey.morgan@lakeside.example"


@pytest.fixture
def counting(app: FastAPI, settings: Settings) -> CountingPasswords:
    passwords = CountingPasswords(settings)
    passwords.verify_dummy("warm the dummy hash up")
    app.state.passwords = passwords
    return passwords


@pytest.fixture
def server(app: FastAPI, counting: CountingPasswords) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


def burst(server: LiveServer, passwords: list[str]) -> list[int]:
    barrier = threading.Barrier(len(passwords))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(password: str) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/auth/login", json={"email": EMAIL, "password": password}
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def audit_count(database: Database, action: str, id_user: int) -> int:
    with database.session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.record_id == str(id_user))
            )
            or 0
        )


def test_a_burst_of_wrong_guesses_gets_exactly_five_checks_and_one_lock(
    database: Database, settings: Settings, server: LiveServer, counting: CountingPasswords
) -> None:
    id_user = make_user(database, settings, email=EMAIL)
    statuses = burst(server, [f"wrong-guess-number-{n}" for n in range(30)])
    assert statuses == [401] * 30
    assert counting.real_checks == settings.lockout_threshold
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == settings.lockout_threshold
    assert user.locked_until is not None
    assert audit_count(database, "account.locked", id_user) == 1
    assert audit_count(database, "login.failed", id_user) == 30


def test_once_locked_the_right_password_inside_a_burst_is_not_checked(
    database: Database, settings: Settings, server: LiveServer, counting: CountingPasswords
) -> None:
    id_user = make_user(database, settings, email=EMAIL)
    with httpx.Client(base_url=server.url) as client:
        for number in range(settings.lockout_threshold):
            answer = client.post(
                "/api/v1/auth/login", json={"email": EMAIL, "password": f"wrong-{number}"}
            )
            assert answer.status_code == 401
    locked_until = fetch_user(database, id_user).locked_until
    assert locked_until is not None
    checks_before = counting.real_checks
    statuses = burst(server, [DEFAULT_PASSWORD] * 3 + [f"wrong-again-{n}" for n in range(12)])
    assert statuses == [401] * 15
    assert counting.real_checks == checks_before
    user = fetch_user(database, id_user)
    assert user.locked_until == locked_until
    assert audit_count(database, "account.locked", id_user) == 1
    assert audit_count(database, "login.succeeded", id_user) == 0


def test_the_right_password_in_a_burst_signs_in_only_within_the_allowed_checks(
    database: Database, settings: Settings, server: LiveServer, counting: CountingPasswords
) -> None:
    """Whatever the interleaving: a sign-in that succeeded was one of the checks the
    lockout allowed, and a burst never gets more checks than locks allow."""
    id_user = make_user(database, settings, email=EMAIL)
    guesses = [f"wrong-guess-{n}" for n in range(20)]
    guesses.insert(10, DEFAULT_PASSWORD)
    statuses = burst(server, guesses)
    signed_in = statuses.count(200)
    assert signed_in <= 1
    assert statuses.count(401) == len(guesses) - signed_in
    locks = audit_count(database, "account.locked", id_user)
    # A success ends a lock window, so at most two windows' worth of checks happen.
    assert counting.real_checks <= settings.lockout_threshold * (1 + signed_in)
    assert locks <= 1 + signed_in
    if signed_in == 0:
        assert locks == 1
        assert fetch_user(database, id_user).locked_until is not None
