"""Wrong TOTP codes in a concurrent burst at a running server (SPEC sections 4 and 12).

Each code takes its try of the challenge and its attempt of the account in conditional
UPDATEs before it is checked, so a burst gets exactly as many code checks as the
lockout allows and writes one `account.locked` row, as wrong passwords do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pyotp
import pytest
from fastapi import FastAPI

from goalpath.auth import second_factor
from goalpath.config import Settings
from goalpath.db import Database
from tests.auth.test_lockout_race import audit_count
from tests.auth.test_oidc import enrol_directly
from tests.conftest import Clock
from tests.fixtures.factories import fetch_user, make_user
from tests.fixtures.live import LiveServer, serve

EMAIL = "casey.morgan@lakeside.example"
ENROLLED = datetime(2025, 7, 1, 9, tzinfo=UTC)


class CountingChecks:
    """`second_factor.matching_step`, counting how often a code is really checked."""

    def __init__(self, original: Callable[..., int | None]) -> None:
        self.original = original
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, secret: str, code: str, now: datetime) -> int | None:
        with self._lock:
            self.calls += 1
        return self.original(secret, code, now)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> CountingChecks:
    counting = CountingChecks(second_factor.matching_step)
    monkeypatch.setattr(second_factor, "matching_step", counting)
    return counting


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


def enrolled_user(database: Database, settings: Settings) -> tuple[int, str]:
    id_user = make_user(database, settings, email=EMAIL)
    return id_user, enrol_directly(database, settings, id_user)


def challenges(database: Database, id_user: int, clock: Clock, count: int) -> list[str]:
    """Challenges as a right password issues them, without the password's own attempt,
    so that every attempt of the lock window is left to the codes."""
    with database.session_scope() as session:
        return [
            second_factor.issue_challenge(session, id_user, now=clock.now).challenge
            for _ in range(count)
        ]


def wrong_codes(secret: str, clock: Clock, count: int) -> list[str]:
    near = {pyotp.TOTP(secret).at(clock.now, counter_offset=offset) for offset in (-1, 0, 1)}
    codes = [f"{number:06d}" for number in range(0, 999999, 7919)]
    return [code for code in codes if code not in near][:count]


def burst(server: LiveServer, attempts: list[tuple[str, str]]) -> list[int]:
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(challenge: str, code: str) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/api/v1/auth/login/second-factor", json={"challenge": challenge, "code": code}
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_a_burst_of_wrong_codes_on_one_challenge_gets_the_threshold_of_checks(
    database: Database, settings: Settings, server: LiveServer, clock: Clock, checks: CountingChecks
) -> None:
    id_user, secret = enrolled_user(database, settings)
    (challenge,) = challenges(database, id_user, clock, 1)

    statuses = burst(server, [(challenge, code) for code in wrong_codes(secret, clock, 25)])

    assert statuses == [401] * 25
    assert checks.calls == settings.lockout_threshold
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == settings.lockout_threshold
    assert user.locked_until is not None
    assert audit_count(database, "account.locked", id_user) == 1
    assert audit_count(database, "login.second_factor_failed", id_user) == 25


def test_a_burst_over_several_challenges_locks_the_account_exactly_once(
    database: Database, settings: Settings, server: LiveServer, clock: Clock, checks: CountingChecks
) -> None:
    """Four challenges allow twenty tries between them; the account allows five."""
    id_user, secret = enrolled_user(database, settings)
    open_challenges = challenges(database, id_user, clock, 4)
    codes = wrong_codes(secret, clock, 24)
    attempts = [(open_challenges[index % 4], code) for index, code in enumerate(codes)]

    statuses = burst(server, attempts)

    assert statuses == [401] * 24
    assert checks.calls == settings.lockout_threshold
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == settings.lockout_threshold
    assert user.locked_until is not None
    assert audit_count(database, "account.locked", id_user) == 1
    # Locked now: even the right code on a challenge with tries left is not checked.
    with httpx.Client(base_url=server.url) as client:
        right = client.post(
            "/api/v1/auth/login/second-factor",
            json={"challenge": open_challenges[0], "code": pyotp.TOTP(secret).at(clock.now)},
        )
    assert right.status_code == 401
    assert checks.calls == settings.lockout_threshold
    assert audit_count(database, "login.succeeded", id_user) == 0
