"""What a signed-in user proves again before a second-factor change (SPEC section 12):
wrong passwords on the turn-off form and on the recovery-code request count toward the
sign-in lockout, as on the change-password form; new recovery codes replace the old
ones, shown once and audited."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import RecoveryCode, User, UserSecondFactor
from tests.auth.test_second_factor import (
    EMAIL,
    audit_rows,
    challenge_for,
    code_at,
    details,
    enrol,
    second_step,
    session_headers,
)
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.web.conftest import with_pages

WRONG = "not-my-password-at-all"
TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
CODES_PATH = "/api/v1/auth/second-factor/recovery-codes"


def account(database: Database, id_user: int) -> User:
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        session.expunge(user)
        return user


def turn_off(client: TestClient, headers: dict[str, str], password: str) -> httpx2.Response:
    return client.request(
        "DELETE", "/api/v1/auth/second-factor", json={"password": password}, headers=headers
    )


def new_codes(client: TestClient, headers: dict[str, str], **proof: str) -> httpx2.Response:
    return client.post(CODES_PATH, json=proof, headers=headers)


def stored_codes(database: Database, id_user: int) -> int:
    with database.session_scope() as session:
        return len(
            session.scalars(select(RecoveryCode).where(RecoveryCode.id_user == id_user)).all()
        )


# -- turning it off ----------------------------------------------------------------


def test_wrong_passwords_on_the_turn_off_request_lock_the_account(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    enrol(client, headers, clock)
    for attempt in range(1, settings.lockout_threshold):
        refused = turn_off(client, headers, WRONG)
        assert refused.status_code == 422
        assert refused.json()["detail"] == "The password is incorrect."
        assert account(database, id_user).failed_login_attempts == attempt
        assert account(database, id_user).locked_until is None
    assert turn_off(client, headers, WRONG).status_code == 422
    assert account(database, id_user).locked_until is not None
    assert len(audit_rows(database, "account.locked")) == 1

    # Locked: the right password is not checked, and the factor stays on.
    locked = turn_off(client, headers, DEFAULT_PASSWORD)
    assert locked.status_code == 422
    assert "too many wrong passwords" in locked.json()["detail"]
    with database.session_scope() as session:
        assert session.get(UserSecondFactor, id_user) is not None
    reasons = [
        details(row)["reason"] for row in audit_rows(database, "second_factor.disable_refused")
    ]
    assert reasons == ["wrong_password"] * settings.lockout_threshold + ["locked"]
    assert len(audit_rows(database, "account.locked")) == 1
    assert not audit_rows(database, "second_factor.disabled")


def test_the_right_password_on_the_turn_off_request_ends_the_run(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    enrol(client, headers, clock)
    for _ in range(settings.lockout_threshold - 1):
        turn_off(client, headers, WRONG)
    assert turn_off(client, headers, DEFAULT_PASSWORD).status_code == 204
    assert account(database, id_user).failed_login_attempts == 0
    assert not audit_rows(database, "account.locked")


@pytest.fixture
def pages(client: TestClient) -> TestClient:
    with_pages(client.app)  # type: ignore[arg-type]
    return client


def sign_in_page(pages: TestClient, secret: str, clock: Clock) -> str:
    """Sign in through the pages with password and code; the CSRF token of the forms."""
    match = TOKEN_FIELD.search(pages.get("/sign-in").text)
    assert match
    csrf = match.group(1)
    pages.post(
        "/sign-in",
        data={"email": EMAIL, "password": DEFAULT_PASSWORD, "next": "/", "csrftoken": csrf},
    )
    clock.advance(seconds=30)
    done = pages.post("/sign-in/code", data={"code": code_at(secret, clock), "csrftoken": csrf})
    assert done.status_code in (200, 303), done.text
    return csrf


def test_the_turn_off_page_counts_wrong_passwords_and_says_when_locked(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    secret, _codes = enrol(pages, session_headers(pages, EMAIL), clock)
    csrf = sign_in_page(pages, secret, clock)
    for _ in range(settings.lockout_threshold):
        refused = pages.post(
            "/account/second-factor/turn-off", data={"password": WRONG, "csrftoken": csrf}
        )
        assert refused.status_code == 422
        assert "The password is incorrect." in refused.text
        assert 'href="#password"' in refused.text
    assert account(database, id_user).locked_until is not None
    locked = pages.post(
        "/account/second-factor/turn-off", data={"password": DEFAULT_PASSWORD, "csrftoken": csrf}
    )
    assert locked.status_code == 422
    assert "too many wrong passwords for this account" in locked.text
    with database.session_scope() as session:
        assert session.get(UserSecondFactor, id_user) is not None
    assert len(audit_rows(database, "account.locked")) == 1


# -- new recovery codes ------------------------------------------------------------


def test_new_recovery_codes_for_the_password_replace_the_old_ones(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    _secret, old = enrol(client, headers, clock)

    answer = new_codes(client, headers, password=DEFAULT_PASSWORD)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    fresh = answer.json()["recovery_codes"]
    assert len(fresh) == 10 and len(set(fresh)) == 10
    assert not set(fresh) & set(old)
    assert stored_codes(database, id_user) == 10
    assert second_step(client, challenge_for(client, EMAIL), old[0]).status_code == 401
    assert second_step(client, challenge_for(client, EMAIL), fresh[0]).status_code == 200
    rows = audit_rows(database, "second_factor.recovery_codes_regenerated")
    assert [row.record_id for row in rows] == [str(id_user)]
    assert all(code not in (rows[0].details or "") for code in fresh)


def test_new_recovery_codes_for_a_current_code_which_works_once(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    secret, old = enrol(client, headers, clock)
    clock.advance(seconds=30)
    code = code_at(secret, clock)

    answer = new_codes(client, headers, code=code)
    assert answer.status_code == 200, answer.text
    replayed = new_codes(client, headers, code=code)
    assert replayed.status_code == 422
    assert "already used" in replayed.json()["detail"]
    assert second_step(client, challenge_for(client, EMAIL), old[1]).status_code == 401
    reasons = [
        details(row)["reason"]
        for row in audit_rows(database, "second_factor.recovery_codes_refused")
    ]
    assert reasons == ["replayed_code"]
    assert account(database, id_user).failed_login_attempts >= 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": DEFAULT_PASSWORD, "code": "123456"},
        {"password": ""},
        {"code": "1" * 17},
        {"password": DEFAULT_PASSWORD, "extra": "field"},
        {"password": 123456},
    ],
)
def test_a_malformed_request_for_new_codes_changes_nothing(
    body: dict[str, Any], client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    _secret, old = enrol(client, headers, clock)
    answer = client.post(CODES_PATH, json=body, headers=headers)
    assert answer.status_code == 422
    assert stored_codes(database, id_user) == 10
    assert second_step(client, challenge_for(client, EMAIL), old[0]).status_code == 200


def test_wrong_proofs_for_new_codes_lock_and_the_codes_stay(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    secret, old = enrol(client, headers, clock)
    near = {code_at(secret, clock, offset) for offset in (-1, 0, 1)}
    wrong_code = next(code for code in ("000000", "111111", "222222") if code not in near)
    proofs = [{"password": WRONG}, {"code": wrong_code}] * settings.lockout_threshold
    for proof in proofs[: settings.lockout_threshold]:
        assert new_codes(client, headers, **proof).status_code == 422
    assert account(database, id_user).locked_until is not None
    assert len(audit_rows(database, "account.locked")) == 1
    clock.advance(seconds=30)
    locked = new_codes(client, headers, code=code_at(secret, clock))
    assert locked.status_code == 422
    assert "too many wrong" in locked.json()["detail"]
    assert stored_codes(database, id_user) == 10
    assert not audit_rows(database, "second_factor.recovery_codes_regenerated")
    # The old codes still work once the lock has passed.
    clock.advance(minutes=16)
    assert second_step(client, challenge_for(client, EMAIL), old[0]).status_code == 200


def test_new_codes_without_a_second_factor_are_refused(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    headers = session_headers(client, EMAIL)
    answer = new_codes(client, headers, password=DEFAULT_PASSWORD)
    assert answer.status_code == 409
    assert "No second factor is set up" in answer.json()["detail"]
    assert new_codes(client, {}, password=DEFAULT_PASSWORD).status_code == 401


def test_new_recovery_codes_from_the_page_are_shown_once(
    pages: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    secret, old = enrol(pages, session_headers(pages, EMAIL), clock)
    csrf = sign_in_page(pages, secret, clock)
    page = pages.get("/account/second-factor")
    assert "Get new recovery codes" in page.text

    empty = pages.post("/account/second-factor/recovery-codes", data={"csrftoken": csrf})
    assert empty.status_code == 422
    assert 'href="#proof"' in empty.text
    assert "Enter your password, or the code" in empty.text
    wrong = pages.post(
        "/account/second-factor/recovery-codes", data={"proof": WRONG, "csrftoken": csrf}
    )
    assert wrong.status_code == 422
    assert "The password is incorrect." in wrong.text

    clock.advance(seconds=30)
    shown = pages.post(
        "/account/second-factor/recovery-codes",
        data={"proof": code_at(secret, clock), "csrftoken": csrf},
    )
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert "Your new recovery codes" in shown.text
    fresh = re.findall(r"<code>([a-z0-9-]{19})</code>", shown.text)
    assert len(fresh) == 10
    assert not set(fresh) & set(old)
    assert all(code not in pages.get("/account/second-factor").text for code in fresh)
    assert stored_codes(database, id_user) == 10
    assert len(audit_rows(database, "second_factor.recovery_codes_regenerated")) == 1
    refused = pages.post("/account/second-factor/recovery-codes", data={"proof": DEFAULT_PASSWORD})
    assert refused.status_code == 403  # no CSRF token: nothing changes
    assert len(audit_rows(database, "second_factor.recovery_codes_regenerated")) == 1
