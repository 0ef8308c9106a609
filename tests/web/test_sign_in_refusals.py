"""Every refusal of the sign-in, reset, password and second-factor pages, read back from
the database: nothing the refused change wrote stays (no session, no spent code or
token, no new password), and what must outlive the refusal does (the counted attempt,
the lock, the audit rows). SPEC sections 4, 6 and 12.

No page rolls back itself (see `goalpath.auth.pages`): a refusal is undone by a
savepoint, or by the service that committed its attempt before checking, and the
request's transaction then commits. These tests drive the real pages and look at
the rows each refused post leaves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from goalpath.auth import password_reset, second_factor
from goalpath.auth.tokens import token_digest
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import (
    AuditEvent,
    PasswordHistory,
    PasswordResetToken,
    RecoveryCode,
    SecondFactorChallenge,
    User,
    UserSecondFactor,
    UserSession,
)
from goalpath.users.service import issue_password_link, validate_new_password
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.web.test_pages import set_cookies
from tests.web.test_second_factor_pages import (
    CHALLENGE_COOKIE,
    EMAIL,
    START_AGAIN_SENTENCE,
    WRONG_CODE_SENTENCE,
    api_enrol,
    counselors_need_it,
    form_token,
    page_sign_in,
    pages,
    post_code,
    wrong_code,
)

WRONG_PASSWORD = "not-the-password-at-all"
NEW_PASSWORD = "orchard-window-cinnamon-7714"
# Through the input schema, refused by the password policy (too short).
WEAK_PASSWORD = "short"
SESSION_COOKIE = "goalpath_session"
SIGN_IN_REFUSED = "The email or password is incorrect, or the account is locked."


# The pages' client and the counselor role requiring a second factor, as there.
__all__ = ["counselors_need_it", "pages"]


# -- what the database holds ------------------------------------------------------


@dataclass(frozen=True)
class Account:
    failed_login_attempts: int
    locked_until: datetime | None
    password_hash: str | None
    password_updated_at: datetime | None
    password_history: int
    # Every session row of the account, and which of them are not revoked.
    sessions: frozenset[int]
    live_sessions: frozenset[int]


@dataclass(frozen=True)
class Factor:
    secret_encrypted: str | None
    confirmed_at: datetime | None
    last_used_step: int | None
    # code_hash -> used_at
    recovery_codes: dict[str, datetime | None]


@dataclass(frozen=True)
class Row:
    outcome: str
    details: dict[str, Any]


def account(database: Database, id_user: int) -> Account:
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        sessions = session.execute(
            select(UserSession.id_user_session, UserSession.revoked_at).where(
                UserSession.id_user == id_user
            )
        ).all()
        history = session.scalar(
            select(func.count())
            .select_from(PasswordHistory)
            .where(PasswordHistory.id_user == id_user)
        )
        hashed = session.scalar(select(User.password_hash).where(User.id_user == id_user))
        return Account(
            failed_login_attempts=user.failed_login_attempts or 0,
            locked_until=user.locked_until,
            password_hash=hashed,
            password_updated_at=user.password_updated_at,
            password_history=int(history or 0),
            sessions=frozenset(row[0] for row in sessions),
            live_sessions=frozenset(row[0] for row in sessions if row[1] is None),
        )


def factor(database: Database, id_user: int) -> Factor:
    with database.session_scope() as session:
        record = session.get(UserSecondFactor, id_user)
        codes = session.execute(
            select(RecoveryCode.code_hash, RecoveryCode.used_at).where(
                RecoveryCode.id_user == id_user
            )
        ).all()
        return Factor(
            secret_encrypted=record.secret_encrypted if record else None,
            confirmed_at=record.confirmed_at if record else None,
            last_used_step=record.last_used_step if record else None,
            recovery_codes={row[0]: row[1] for row in codes},
        )


def audit_rows(database: Database, action: str) -> list[Row]:
    with database.session_scope() as session:
        rows = session.execute(
            select(AuditEvent.outcome, AuditEvent.details)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id_audit_event)
        ).all()
    return [Row(outcome, json.loads(details or "{}")) for outcome, details in rows]


def challenges(database: Database, id_user: int) -> list[tuple[int, datetime | None]]:
    """(attempts, used_at) of each of the account's sign-in challenges."""
    with database.session_scope() as session:
        rows = session.execute(
            select(SecondFactorChallenge.attempts, SecondFactorChallenge.used_at)
            .where(SecondFactorChallenge.id_user == id_user)
            .order_by(SecondFactorChallenge.id_second_factor_challenge)
        ).all()
    return [(int(row[0]), row[1]) for row in rows]


def set_attempts(database: Database, id_user: int, attempts: int) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            update(User).where(User.id_user == id_user).values(failed_login_attempts=attempts)
        )


def no_session_cookie(response: httpx2.Response) -> bool:
    return SESSION_COOKIE not in set_cookies(response)


# -- signing in with a password ---------------------------------------------------


def test_a_wrong_password_is_counted_and_signs_nobody_in(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    before = account(database, id_user)

    refused = page_sign_in(pages, password=WRONG_PASSWORD)
    assert refused.status_code == 401
    assert SIGN_IN_REFUSED in refused.text
    assert no_session_cookie(refused)
    after = account(database, id_user)
    assert after.failed_login_attempts == 1
    assert after.locked_until is None
    assert after.sessions == before.sessions == frozenset()
    assert after.password_hash == before.password_hash
    assert audit_rows(database, "login.failed") == [
        Row("failed", {"reason": "wrong_password", "attempts": 1})
    ]

    # The right password afterwards signs in and ends the run of failures.
    signed_in = page_sign_in(pages)
    assert signed_in.status_code == 303
    assert account(database, id_user).failed_login_attempts == 0
    assert len(account(database, id_user).live_sessions) == 1


def test_an_unknown_email_leaves_only_its_audit_row(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    refused = page_sign_in(pages, email="nobody@lakeside.example")
    assert refused.status_code == 401
    assert SIGN_IN_REFUSED in refused.text
    assert account(database, id_user).failed_login_attempts == 0
    rows = audit_rows(database, "login.failed")
    assert [row.details["reason"] for row in rows] == ["unknown_account"]
    assert "nobody@lakeside.example" not in json.dumps(rows[0].details)


def test_the_lock_stands_and_the_right_password_is_then_refused(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    threshold = settings.lockout_threshold
    for attempt in range(1, threshold + 1):
        refused = page_sign_in(pages, password=WRONG_PASSWORD)
        assert refused.status_code == 401
        assert account(database, id_user).failed_login_attempts == attempt
    locked = account(database, id_user)
    assert locked.locked_until is not None
    assert [row.outcome for row in audit_rows(database, "account.locked")] == ["failed"]

    right = page_sign_in(pages)
    assert right.status_code == 401
    assert SIGN_IN_REFUSED in right.text
    assert no_session_cookie(right)
    after = account(database, id_user)
    assert after.sessions == frozenset()
    # A locked account's attempt is not counted, and the lock is not moved or written again.
    assert after.failed_login_attempts == threshold
    assert after.locked_until == locked.locked_until
    assert len(audit_rows(database, "account.locked")) == 1
    reasons = [row.details["reason"] for row in audit_rows(database, "login.failed")]
    assert reasons == ["wrong_password"] * threshold + ["locked"]


# -- the code step ------------------------------------------------------------------


def test_a_wrong_code_is_counted_and_the_challenge_stays_open(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)
    assert page_sign_in(pages).status_code == 303
    before = account(database, id_user)
    step_before = factor(database, id_user).last_used_step
    # The right password takes an attempt; only the code ends the run (SPEC 12).
    assert before.failed_login_attempts == 1

    refused = post_code(pages, wrong_code(secret, clock))
    assert refused.status_code == 401
    assert WRONG_CODE_SENTENCE in refused.text
    assert no_session_cookie(refused)
    after = account(database, id_user)
    assert after.failed_login_attempts == 2
    assert after.sessions == before.sessions
    assert challenges(database, id_user) == [(1, None)]
    assert factor(database, id_user).last_used_step == step_before
    assert audit_rows(database, "login.second_factor_failed") == [
        Row("failed", {"reason": "wrong_code", "attempts": 2})
    ]

    # A code of the step already spent (the confirming code's) is a replay: refused,
    # counted, and spends nothing either.
    replayed = post_code(pages, pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30)))
    assert replayed.status_code == 401
    assert account(database, id_user).failed_login_attempts == 3
    assert factor(database, id_user).last_used_step == step_before
    assert challenges(database, id_user) == [(2, None)]
    assert audit_rows(database, "login.second_factor_failed")[-1] == Row(
        "failed", {"reason": "replayed_code", "attempts": 3}
    )

    signed_in = post_code(pages, pyotp.TOTP(secret).at(clock.now))
    assert signed_in.status_code == 303
    assert not no_session_cookie(signed_in)
    done = account(database, id_user)
    assert done.failed_login_attempts == 0
    assert len(done.live_sessions - before.live_sessions) == 1
    assert challenges(database, id_user)[0][1] is not None


def test_a_wrong_recovery_code_spends_none(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    _secret, codes = api_enrol(pages, clock)
    page_sign_in(pages)
    before = account(database, id_user)

    refused = post_code(pages, "abcd-efgh-jkmn-pqrs")
    assert refused.status_code == 401
    assert WRONG_CODE_SENTENCE in refused.text
    assert no_session_cookie(refused)
    assert account(database, id_user).sessions == before.sessions
    assert account(database, id_user).failed_login_attempts == 2
    assert list(factor(database, id_user).recovery_codes.values()) == [None] * len(codes)
    assert audit_rows(database, "login.second_factor_failed") == [
        Row("failed", {"reason": "wrong_recovery_code", "attempts": 2})
    ]

    assert post_code(pages, codes[0]).status_code == 303
    used = [value for value in factor(database, id_user).recovery_codes.values() if value]
    assert len(used) == 1


def test_a_code_step_that_loses_its_challenge_gives_the_code_back(
    pages: TestClient,
    database: Database,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another request took the challenge between this one's check and its claim: the
    recovery code this one spent is unspent again, and nobody is signed in."""
    id_user = make_user(database, settings)
    _secret, codes = api_enrol(pages, clock)
    page_sign_in(pages)
    before = account(database, id_user)
    monkeypatch.setattr(second_factor, "claim_challenge", lambda *_args, **_kwargs: False)

    raced = post_code(pages, codes[0])
    assert raced.status_code == 401
    assert START_AGAIN_SENTENCE in raced.text
    assert no_session_cookie(raced)
    assert account(database, id_user).sessions == before.sessions
    assert list(factor(database, id_user).recovery_codes.values()) == [None] * len(codes)
    # The attempt was committed before the code was checked.
    assert account(database, id_user).failed_login_attempts == 2
    assert challenges(database, id_user) == [(1, None)]
    assert audit_rows(database, "login.second_factor_failed") == [
        Row("failed", {"reason": "raced"})
    ]


def test_wrong_codes_lock_and_end_the_sign_in(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)
    page_sign_in(pages)
    before = account(database, id_user)
    step_before = factor(database, id_user).last_used_step
    # The password step took the first attempt; the codes take the rest.
    for _ in range(settings.lockout_threshold - 2):
        assert post_code(pages, wrong_code(secret, clock)).status_code == 401
    last = post_code(pages, wrong_code(secret, clock))
    assert last.status_code == 401
    assert START_AGAIN_SENTENCE in last.text
    assert no_session_cookie(last)
    assert pages.cookies.get(CHALLENGE_COOKIE) is None
    locked = account(database, id_user)
    assert locked.failed_login_attempts == settings.lockout_threshold
    assert locked.locked_until is not None
    assert locked.sessions == before.sessions
    assert factor(database, id_user).last_used_step == step_before
    assert len(audit_rows(database, "account.locked")) == 1

    # Locked: the right password is refused, and nothing moves.
    assert page_sign_in(pages).status_code == 401
    assert account(database, id_user) == locked
    assert challenges(database, id_user) == [(settings.lockout_threshold - 1, None)]
    assert len(audit_rows(database, "account.locked")) == 1


def test_a_locked_account_cannot_finish_an_open_challenge(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    """Locked while a challenge is open (wrong passwords elsewhere): the right code is
    refused without being checked, spent or counted."""
    id_user = make_user(database, settings)
    secret, _codes = api_enrol(pages, clock)
    page_sign_in(pages)
    for _ in range(settings.lockout_threshold - 1):
        wrong = pages.post("/api/v1/auth/login", json={"email": EMAIL, "password": WRONG_PASSWORD})
        assert wrong.status_code == 401
    locked = account(database, id_user)
    assert locked.locked_until is not None
    step_before = factor(database, id_user).last_used_step

    refused = post_code(pages, pyotp.TOTP(secret).at(clock.now))
    assert refused.status_code == 401
    assert START_AGAIN_SENTENCE in refused.text
    assert no_session_cookie(refused)
    after = account(database, id_user)
    assert after.sessions == locked.sessions
    assert after.failed_login_attempts == locked.failed_login_attempts
    assert factor(database, id_user).last_used_step == step_before
    # The challenge's own try was taken (committed) before the lock was seen.
    assert challenges(database, id_user) == [(1, None)]
    assert audit_rows(database, "login.second_factor_failed")[-1] == Row(
        "failed", {"reason": "locked"}
    )


# -- resetting a forgotten password -----------------------------------------------


def reset_link(database: Database, settings: Settings, id_user: int, now: datetime) -> str:
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        link = issue_password_link(
            session, settings, user, now=now, ip=None, lifetime=timedelta(minutes=30)
        )
    return parse_qs(urlsplit(link).query)["token"][0]


def post_reset(
    client: TestClient, token: str, password: str, confirm: str | None = None
) -> httpx2.Response:
    # The link moves the token into the form's cookie.
    moved = client.get(f"/reset-password?token={token}", follow_redirects=False)
    assert moved.status_code == 303
    return client.post(
        "/reset-password",
        data={
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
            "csrftoken": form_token(client, "/reset-password"),
        },
        follow_redirects=False,
    )


def reset_token_row(database: Database, token: str) -> tuple[datetime | None, datetime | None]:
    with database.session_scope() as session:
        row = session.execute(
            select(PasswordResetToken.used_at, PasswordResetToken.invalidated_at).where(
                PasswordResetToken.token_hash == token_digest(token)
            )
        ).one()
    return row[0], row[1]


def signed_in_elsewhere(client: TestClient) -> None:
    """A session made through the API, which a completed reset ends."""
    answer = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD})
    assert answer.status_code == 200, answer.text


def test_a_weak_new_password_leaves_the_reset_link_usable(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    signed_in_elsewhere(pages)
    set_attempts(database, id_user, 2)
    token = reset_link(database, settings, id_user, clock.now)
    before = account(database, id_user)

    refused = post_reset(pages, token, WEAK_PASSWORD)
    assert refused.status_code == 422
    assert f"Use at least {settings.password_min_length} characters." in refused.text
    after = account(database, id_user)
    assert after == before
    assert reset_token_row(database, token) == (None, None)
    assert audit_rows(database, "password_reset.completed") == []

    # The same link still works, once.
    done = post_reset(pages, token, NEW_PASSWORD)
    assert done.status_code == 303
    changed = account(database, id_user)
    assert changed.password_hash != before.password_hash
    assert changed.failed_login_attempts == 0
    assert changed.live_sessions == frozenset()
    assert reset_token_row(database, token)[0] is not None


def test_an_unknown_or_used_reset_link_changes_nothing(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    signed_in_elsewhere(pages)
    before = account(database, id_user)

    unknown = post_reset(pages, "not-a-token-anyone-was-sent", NEW_PASSWORD)
    assert unknown.status_code == 400
    assert "This reset link is invalid, already used or expired." in unknown.text
    assert account(database, id_user) == before
    assert audit_rows(database, "password_reset.refused") == [
        Row("denied", {"reason": "unknown_token"})
    ]

    token = reset_link(database, settings, id_user, clock.now)
    assert post_reset(pages, token, NEW_PASSWORD).status_code == 303
    reset = account(database, id_user)
    used_at = reset_token_row(database, token)[0]
    clock.advance(seconds=5)
    again = post_reset(pages, token, "another-fine-new-password-8812")
    assert again.status_code == 400
    assert account(database, id_user) == reset
    assert reset_token_row(database, token)[0] == used_at
    assert audit_rows(database, "password_reset.refused")[-1] == Row(
        "denied", {"reason": "dead_token"}
    )


def test_a_reset_that_loses_the_race_leaves_nothing(
    pages: TestClient,
    database: Database,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another confirmation claims the token between this one's check and its claim
    (simulated in the refused request's own transaction): the refusal is the invalid
    link page with its audit row, and nothing the refused request wrote stays, the
    simulated claim included, since the page's savepoint undoes it all."""
    id_user = make_user(database, settings)
    signed_in_elsewhere(pages)
    token = reset_link(database, settings, id_user, clock.now)
    before = account(database, id_user)

    def claimed_meanwhile(session: Session, *args: Any, **kwargs: Any) -> None:
        validate_new_password(session, *args, **kwargs)
        session.execute(update(PasswordResetToken).values(used_at=clock.now))

    monkeypatch.setattr(password_reset, "validate_new_password", claimed_meanwhile)
    raced = post_reset(pages, token, NEW_PASSWORD)
    assert raced.status_code == 400
    assert "This reset link is invalid, already used or expired." in raced.text
    assert account(database, id_user) == before
    assert reset_token_row(database, token) == (None, None)
    assert audit_rows(database, "password_reset.refused") == [Row("denied", {"reason": "raced"})]
    assert audit_rows(database, "password_reset.completed") == []


# -- changing the password --------------------------------------------------------


def post_change(
    client: TestClient, current: str, new: str = NEW_PASSWORD, confirm: str | None = None
) -> httpx2.Response:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
            "csrftoken": form_token(client, "/account/password"),
        },
        follow_redirects=False,
    )


def test_a_wrong_current_password_is_counted_and_changes_nothing(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    before = account(database, id_user)

    refused = post_change(pages, WRONG_PASSWORD)
    assert refused.status_code == 422
    assert "The current password is incorrect." in refused.text
    assert no_session_cookie(refused)
    after = account(database, id_user)
    assert after.failed_login_attempts == 1
    assert (after.password_hash, after.password_history) == (
        before.password_hash,
        before.password_history,
    )
    assert after.sessions == before.sessions
    assert after.live_sessions == before.live_sessions
    assert audit_rows(database, "password.change_refused") == [
        Row("denied", {"reason": "wrong_password", "attempts": 1})
    ]
    # Still signed in with the same session.
    assert pages.get("/", follow_redirects=False).status_code == 200


def test_a_weak_new_password_keeps_the_right_current_password_uncounted(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    post_change(pages, WRONG_PASSWORD)
    assert account(database, id_user).failed_login_attempts == 1
    before = account(database, id_user)

    refused = post_change(pages, DEFAULT_PASSWORD, WEAK_PASSWORD)
    assert refused.status_code == 422
    assert f"Use at least {settings.password_min_length} characters." in refused.text
    assert no_session_cookie(refused)
    after = account(database, id_user)
    # The right current password ended the run of failures, and that stands; the
    # change itself does not.
    assert after.failed_login_attempts == 0
    assert after.password_hash == before.password_hash
    assert after.password_updated_at == before.password_updated_at
    assert after.password_history == before.password_history
    assert after.sessions == before.sessions
    assert after.live_sessions == before.live_sessions
    assert audit_rows(database, "password.changed") == []
    assert pages.get("/", follow_redirects=False).status_code == 200


def test_a_locked_account_cannot_change_its_password(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    for _ in range(settings.lockout_threshold):
        assert post_change(pages, WRONG_PASSWORD).status_code == 422
    locked = account(database, id_user)
    assert locked.locked_until is not None
    assert len(audit_rows(database, "account.locked")) == 1

    refused = post_change(pages, DEFAULT_PASSWORD)
    assert refused.status_code == 422
    assert "too many wrong passwords" in refused.text
    after = account(database, id_user)
    assert after == locked
    assert len(audit_rows(database, "account.locked")) == 1
    assert audit_rows(database, "password.change_refused")[-1] == Row(
        "denied", {"reason": "locked"}
    )


# -- the second factor's own forms ------------------------------------------------


def enrolled_and_signed_in(
    pages: TestClient, database: Database, settings: Settings, clock: Clock, **user: Any
) -> tuple[int, str, list[str]]:
    id_user = make_user(database, settings, **user)
    secret, codes = api_enrol(pages, clock)
    page_sign_in(pages)
    assert post_code(pages, codes[0]).status_code == 303
    return id_user, secret, codes


def post_form(client: TestClient, path: str, **data: str) -> httpx2.Response:
    data["csrftoken"] = form_token(client, "/account/second-factor")
    return client.post(path, data=data, follow_redirects=False)


def test_turning_off_with_a_wrong_password_is_counted_and_keeps_the_factor(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user, _secret, _codes = enrolled_and_signed_in(pages, database, settings, clock)
    before_factor = factor(database, id_user)
    before = account(database, id_user)
    assert before.failed_login_attempts == 0

    refused = post_form(pages, "/account/second-factor/turn-off", password=WRONG_PASSWORD)
    assert refused.status_code == 422
    assert "The password is incorrect." in refused.text
    assert factor(database, id_user) == before_factor
    after = account(database, id_user)
    assert after.failed_login_attempts == 1
    assert after.live_sessions == before.live_sessions
    assert audit_rows(database, "second_factor.disable_refused") == [
        Row("denied", {"reason": "wrong_password", "attempts": 1})
    ]
    assert audit_rows(database, "second_factor.disabled") == []


def test_a_required_factor_is_not_turned_off_and_the_password_not_counted(
    pages: TestClient,
    database: Database,
    settings: Settings,
    clock: Clock,
    counselors_need_it: None,
) -> None:
    id_user, _secret, _codes = enrolled_and_signed_in(
        pages, database, settings, clock, role="counselor"
    )
    before_factor = factor(database, id_user)

    refused = post_form(pages, "/account/second-factor/turn-off", password=WRONG_PASSWORD)
    assert refused.status_code == 403
    assert "Your role requires a second factor" in refused.text
    assert factor(database, id_user) == before_factor
    assert account(database, id_user).failed_login_attempts == 0
    assert audit_rows(database, "second_factor.disable_refused") == [
        Row("denied", {"reason": "required_by_role"})
    ]


def test_turning_off_a_factor_never_set_up_counts_nothing(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    set_attempts(database, id_user, 1)

    refused = post_form(pages, "/account/second-factor/turn-off", password=DEFAULT_PASSWORD)
    assert refused.status_code == 409
    assert "No second factor is set up for this account." in refused.text
    # The right password ended the run of failures; the refusal came after.
    assert account(database, id_user).failed_login_attempts == 0
    assert audit_rows(database, "second_factor.disabled") == []


def test_new_recovery_codes_refused_for_a_wrong_password_or_code_keep_the_old_ones(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user, secret, _codes = enrolled_and_signed_in(pages, database, settings, clock)
    before_factor = factor(database, id_user)

    by_password = post_form(pages, "/account/second-factor/recovery-codes", proof=WRONG_PASSWORD)
    assert by_password.status_code == 422
    assert "The password is incorrect." in by_password.text
    assert factor(database, id_user) == before_factor
    assert account(database, id_user).failed_login_attempts == 1

    by_code = post_form(
        pages, "/account/second-factor/recovery-codes", proof=wrong_code(secret, clock)
    )
    assert by_code.status_code == 422
    assert "The code is incorrect or was already used" in by_code.text
    assert factor(database, id_user) == before_factor
    assert account(database, id_user).failed_login_attempts == 2
    assert audit_rows(database, "second_factor.recovery_codes_refused") == [
        Row("denied", {"reason": "wrong_password", "attempts": 1}),
        Row("denied", {"reason": "wrong_code", "attempts": 2}),
    ]
    assert audit_rows(database, "second_factor.recovery_codes_regenerated") == []

    # The right code replaces them all, and ends the run.
    renewed = post_form(
        pages, "/account/second-factor/recovery-codes", proof=pyotp.TOTP(secret).at(clock.now)
    )
    assert renewed.status_code == 200
    after = factor(database, id_user)
    assert set(after.recovery_codes).isdisjoint(before_factor.recovery_codes)
    assert account(database, id_user).failed_login_attempts == 0


def test_recovery_codes_without_a_factor_are_refused_uncounted(
    pages: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)
    refused = post_form(pages, "/account/second-factor/recovery-codes", proof=WRONG_PASSWORD)
    assert refused.status_code == 409
    assert "No second factor is set up for this account" in refused.text
    assert account(database, id_user).failed_login_attempts == 0
    assert factor(database, id_user).recovery_codes == {}


def test_setting_up_again_or_confirming_wrongly_changes_nothing(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    page_sign_in(pages)

    nothing_pending = post_form(pages, "/account/second-factor/confirm", code="123456")
    assert nothing_pending.status_code == 409
    assert factor(database, id_user) == Factor(None, None, None, {})

    assert post_form(pages, "/account/second-factor/set-up").status_code == 303
    pending = factor(database, id_user)
    assert pending.secret_encrypted is not None
    assert pending.confirmed_at is None
    with database.session_scope() as session:
        found = second_factor.pending_secret(session, settings, id_user)
        assert found is not None
        secret = found[1]

    wrong = post_form(pages, "/account/second-factor/confirm", code=wrong_code(secret, clock))
    assert wrong.status_code == 422
    assert "The code does not match" in wrong.text
    assert factor(database, id_user) == pending
    assert audit_rows(database, "second_factor.confirm_refused") == [Row("denied", {})]
    assert audit_rows(database, "second_factor.enabled") == []

    confirmed = post_form(
        pages, "/account/second-factor/confirm", code=pyotp.TOTP(secret).at(clock.now)
    )
    assert confirmed.status_code == 200
    on = factor(database, id_user)
    assert on.confirmed_at is not None
    assert len(on.recovery_codes) == 10

    again = post_form(pages, "/account/second-factor/set-up")
    assert again.status_code == 409
    assert "A second factor is already set up for this account" in again.text
    assert factor(database, id_user) == on
    assert audit_rows(database, "second_factor.enrolment_started") == [Row("allowed", {})]
