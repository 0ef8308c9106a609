"""50 concurrent wrong guesses count as 50: the lockout counter is atomic in SQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from goalpath.auth.service import Request, SignInFailed, sign_in
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.users.service import passwords_from
from tests.fixtures.factories import fetch_user, make_user

GUESSES = 50


def test_concurrent_wrong_guesses_all_count(database: Database, settings: Settings) -> None:
    id_user = make_user(database, settings)
    passwords = passwords_from(settings)
    barrier = threading.Barrier(GUESSES)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess(number: int) -> None:
        barrier.wait()
        try:
            with database.session_scope() as session:
                sign_in(
                    session,
                    settings,
                    passwords,
                    email="casey.morgan@lakeside.example",
                    password=f"wrong-guess-number-{number}",
                    request=Request(ip="192.0.2.7", user_agent="race", now=datetime.now(UTC)),
                )
            outcome = "signed-in"
        except SignInFailed:
            outcome = "refused"
        except Exception as error:  # any other outcome fails the test below
            outcome = f"error: {type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == ["refused"] * GUESSES
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == GUESSES
    assert user.locked_until is not None
