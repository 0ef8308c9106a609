"""TOTP second factor and recovery codes (SPEC section 12), on the backend under test.

Codes are computed with pyotp from the secret the API hands out, at the app's clock,
which the tests move instead of sleeping.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update

from goalpath import migrations
from goalpath.config import Settings
from goalpath.db import Database, normalise_url
from goalpath.demo.loader import demo_email, load_demo
from goalpath.models import AuditEvent, RecoveryCode, Role, User, UserSecondFactor
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.backends import throwaway_database
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.users.helpers import CASE_MANAGER, COUNSELOR, DISTRICT_ADMIN, SYSTEM_ADMIN

EMAIL = "casey.morgan@lakeside.example"
ENROL_SENTENCE = "set one up"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def password_login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def session_headers(
    client: TestClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = password_login(client, email, password)
    assert response.status_code == 200, response.text
    assert "token" in response.json(), response.json()
    return bearer(response.json()["token"])


def code_at(secret: str, clock: Clock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now, counter_offset=steps)


def enrol(client: TestClient, headers: dict[str, str], clock: Clock) -> tuple[str, list[str]]:
    started = client.post("/api/v1/auth/second-factor/totp", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = client.post(
        "/api/v1/auth/second-factor/totp/confirm",
        json={"code": code_at(secret, clock)},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


def challenge_for(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> str:
    response = password_login(client, email, password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["second_factor_required"] is True
    assert "token" not in body
    return str(body["challenge"])


def second_step(client: TestClient, challenge: str, code: str) -> Any:
    return client.post(
        "/api/v1/auth/login/second-factor", json={"challenge": challenge, "code": code}
    )


def audit_rows(database: Database, action: str) -> list[AuditEvent]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id_audit_event)
            )
        )


def details(row: AuditEvent) -> dict[str, Any]:
    return json.loads(row.details) if row.details else {}


@pytest.fixture
def require_for_counselors(database: Database) -> Iterator[None]:
    """Roles outlive each test's wipe: the flag is put back whatever the test does."""
    yield
    with database.engine.begin() as connection:
        connection.execute(update(Role).values(requires_second_factor=False))


def test_enrol_then_sign_in_with_a_code_that_works_once(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    started = client.post("/api/v1/auth/second-factor/totp", headers=headers)
    assert started.status_code == 200
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert "issuer=Goalpath" in started.json()["otpauth_uri"]
    # Not in force until confirmed: the password alone still signs in.
    assert "token" in password_login(client, EMAIL, DEFAULT_PASSWORD).json()
    wrong = client.post(
        "/api/v1/auth/second-factor/totp/confirm",
        json={"code": code_at(secret, clock, steps=5)},
        headers=headers,
    )
    assert wrong.status_code == 422
    confirmed = client.post(
        "/api/v1/auth/second-factor/totp/confirm",
        json={"code": code_at(secret, clock)},
        headers=headers,
    )
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    with database.session_scope() as session:
        factor = session.get(UserSecondFactor, id_user)
        assert factor is not None
        assert factor.confirmed_at is not None
        assert secret not in factor.secret_encrypted
        stored = set(session.scalars(select(RecoveryCode.code_hash)))
    assert not stored & set(codes)
    assert len(stored) == 10
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me["second_factor_enabled"] is True
    assert me["second_factor_enrolment_required"] is False

    # The code that confirmed the enrolment is spent; the next step's code signs in.
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock)).status_code == 401
    )
    clock.advance(seconds=30)
    code = code_at(secret, clock)
    signed_in = second_step(client, challenge_for(client, EMAIL), code)
    assert signed_in.status_code == 200, signed_in.text
    assert (
        client.get("/api/v1/auth/me", headers=bearer(signed_in.json()["token"])).status_code == 200
    )
    # The same code again, on a fresh challenge, is a replay.
    replayed = second_step(client, challenge_for(client, EMAIL), code)
    assert replayed.status_code == 401
    assert "already used" in replayed.json()["detail"]
    assert details(audit_rows(database, "login.succeeded")[-1])["second_factor"] == "totp"
    reasons = [details(row)["reason"] for row in audit_rows(database, "login.second_factor_failed")]
    assert reasons == ["replayed_code", "replayed_code"]
    assert audit_rows(database, "second_factor.enabled")
    assert len(audit_rows(database, "login.second_factor_required")) == 3


def test_one_step_of_drift_either_way_and_no_earlier_step(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    secret, _codes = enrol(client, session_headers(client, EMAIL), clock)
    clock.advance(minutes=5)
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock, 2)).status_code
        == 401
    )
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock, 1)).status_code
        == 200
    )
    # The current step is now at or before the last accepted one.
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock)).status_code == 401
    )
    # Three steps on, the code of one step behind is later than the accepted one.
    clock.advance(seconds=90)
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock, -1)).status_code
        == 200
    )


def test_a_recovery_code_works_once(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    _secret, codes = enrol(client, session_headers(client, EMAIL), clock)
    first = second_step(client, challenge_for(client, EMAIL), codes[0].upper())
    assert first.status_code == 200, first.text
    again = second_step(client, challenge_for(client, EMAIL), codes[0])
    assert again.status_code == 401
    assert second_step(client, challenge_for(client, EMAIL), codes[1]).status_code == 200
    methods = [details(row).get("second_factor") for row in audit_rows(database, "login.succeeded")]
    assert methods[-2:] == ["recovery_code", "recovery_code"]
    with database.session_scope() as session:
        used = session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all()
    assert len(used) == 2


def test_wrong_codes_count_toward_the_password_lockout(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    """Two wrong passwords, a right one (which resets nothing) and then wrong codes: the
    fifth failure of either kind locks the account, and a right code no longer helps."""
    id_user = make_user(database, settings)
    secret, _codes = enrol(client, session_headers(client, EMAIL), clock)
    for _ in range(2):
        assert password_login(client, EMAIL, "not-the-password-at-all").status_code == 401
    challenge = challenge_for(client, EMAIL)
    with database.session_scope() as session:
        assert (
            session.scalar(select(User.failed_login_attempts).where(User.id_user == id_user)) == 3
        )
    assert second_step(client, challenge, "000000").status_code == 401
    locking = second_step(client, challenge, "111111")
    assert locking.status_code == 401
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        assert user.failed_login_attempts == 5
        assert user.locked_until is not None
    clock.advance(seconds=30)
    assert second_step(client, challenge, code_at(secret, clock)).status_code == 401
    assert password_login(client, EMAIL, DEFAULT_PASSWORD).status_code == 401
    assert len(audit_rows(database, "account.locked")) == 1
    # After the lock, a completed sign-in resets the counter.
    clock.advance(minutes=16)
    signed_in = second_step(client, challenge_for(client, EMAIL), code_at(secret, clock))
    assert signed_in.status_code == 200
    with database.session_scope() as session:
        assert (
            session.scalar(select(User.failed_login_attempts).where(User.id_user == id_user)) == 0
        )


def test_a_challenge_dies_after_five_wrong_codes_and_five_minutes(
    app: FastAPI, client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    app.state.settings = settings.model_copy(update={"lockout_threshold": 50})
    make_user(database, settings)
    secret, _codes = enrol(client, session_headers(client, EMAIL), clock)
    clock.advance(seconds=30)
    challenge = challenge_for(client, EMAIL)
    for wrong in ("000001", "000002", "000003", "000004", "000005"):
        assert second_step(client, challenge, wrong).status_code == 401
    dead = second_step(client, challenge, code_at(secret, clock))
    assert dead.status_code == 401
    assert "sign in again" in dead.json()["detail"]
    stale = challenge_for(client, EMAIL)
    clock.advance(minutes=5)
    assert second_step(client, stale, code_at(secret, clock)).status_code == 401
    assert second_step(client, "no-such-challenge", code_at(secret, clock)).status_code == 401
    assert (
        second_step(client, challenge_for(client, EMAIL), code_at(secret, clock)).status_code == 200
    )


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/api/v1/"):
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "1")
            routes.extend((method, path) for method in sorted(route.methods))
    return routes


ENROLMENT_PATHS = {
    "/api/v1/auth/second-factor/totp",
    "/api/v1/auth/second-factor/totp/confirm",
    "/api/v1/auth/password",
    "/api/v1/auth/logout",
    "/api/v1/auth/me",
    "/api/v1/auth/login",
    "/api/v1/auth/login/second-factor",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
}


def test_a_role_that_requires_it_reaches_nothing_until_enrolled(
    app: FastAPI,
    client: TestClient,
    database: Database,
    settings: Settings,
    clock: Clock,
    require_for_counselors: None,
) -> None:
    staff = demo.load(database, settings)
    admin = session_headers(client, demo_email(SYSTEM_ADMIN), settings.demo_password)
    with database.session_scope() as session:
        id_counselor_role = session.scalar(select(Role.id_role).where(Role.name == "counselor"))
    changed = client.patch(
        f"/api/v1/roles/{id_counselor_role}", json={"requires_second_factor": True}, headers=admin
    )
    assert changed.status_code == 200
    assert changed.json()["requires_second_factor"] is True
    assert client.get(f"/api/v1/roles/{id_counselor_role}", headers=admin).json()[
        "requires_second_factor"
    ]
    assert (
        client.patch(
            f"/api/v1/roles/{id_counselor_role}",
            json={"requires_second_factor": None},
            headers=admin,
        ).status_code
        == 422
    )

    counselor = session_headers(client, demo_email(COUNSELOR), settings.demo_password)
    me = client.get("/api/v1/auth/me", headers=counselor).json()
    assert me["second_factor_enrolment_required"] is True
    refused = []
    for method, path in _api_routes(app):
        if path in ENROLMENT_PATHS or path.startswith("/api/v1/auth/sessions"):
            continue
        response = client.request(method, path, headers=counselor, json={})
        if response.status_code != 403 or ENROL_SENTENCE not in response.json()["detail"]:
            refused.append((method, path, response.status_code))
    assert refused == []
    for path in ("/api/v1/auth/sessions", "/api/v1/students", "/api/v1/users"):
        blocked = client.get(path, headers=counselor)
        assert blocked.status_code == 403
        assert "second factor" in blocked.json()["detail"]

    enrol(client, counselor, clock)
    assert client.get("/api/v1/students", headers=counselor).status_code == 200
    assert (
        client.get(
            f"/api/v1/users/{staff.by_email[demo_email(COUNSELOR)]}", headers=counselor
        ).status_code
        == 200
    )
    assert (
        client.get("/api/v1/auth/me", headers=counselor).json()["second_factor_enrolment_required"]
        is False
    )
    # The role requires it, so its holder cannot turn it off.
    off = client.request(
        "DELETE",
        "/api/v1/auth/second-factor",
        json={"password": settings.demo_password},
        headers=counselor,
    )
    assert off.status_code == 403
    assert "requires a second factor" in off.json()["detail"]


def test_turning_it_off_needs_the_password(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    headers = session_headers(client, EMAIL)
    enrol(client, headers, clock)
    wrong = client.request(
        "DELETE", "/api/v1/auth/second-factor", json={"password": "wrong-password"}, headers=headers
    )
    assert wrong.status_code == 422
    off = client.request(
        "DELETE", "/api/v1/auth/second-factor", json={"password": DEFAULT_PASSWORD}, headers=headers
    )
    assert off.status_code == 204
    assert "token" in password_login(client, EMAIL, DEFAULT_PASSWORD).json()
    with database.session_scope() as session:
        assert session.get(UserSecondFactor, id_user) is None
        assert not session.scalars(select(RecoveryCode)).all()
    assert audit_rows(database, "second_factor.disabled")
    assert [
        details(row)["reason"] for row in audit_rows(database, "second_factor.disable_refused")
    ] == ["wrong_password"]


def test_an_administrator_resets_a_second_factor_within_the_manage_rule(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    staff = demo.load(database, settings)
    case_manager_email = demo_email(CASE_MANAGER)
    case_manager = session_headers(client, case_manager_email, settings.demo_password)
    enrol(client, case_manager, clock)
    counselor_email = demo_email(COUNSELOR)
    enrol(client, session_headers(client, counselor_email, settings.demo_password), clock)
    id_case_manager = staff.by_email[case_manager_email]
    id_counselor = staff.by_email[counselor_email]

    district_admin = session_headers(client, demo_email(DISTRICT_ADMIN), settings.demo_password)
    # The counselor's role holds health-note rights the district administrator lacks.
    outranked = client.delete(f"/api/v1/users/{id_counselor}/second-factor", headers=district_admin)
    assert outranked.status_code == 403
    hidden = client.delete(
        f"/api/v1/users/{staff.first('system_admin')}/second-factor", headers=district_admin
    )
    assert hidden.status_code == 404
    assert challenge_for(client, counselor_email, settings.demo_password)

    reset = client.delete(f"/api/v1/users/{id_case_manager}/second-factor", headers=district_admin)
    assert reset.status_code == 204
    assert "token" in password_login(client, case_manager_email, settings.demo_password).json()
    rows = audit_rows(database, "second_factor.reset")
    assert [(row.outcome, row.record_id) for row in rows] == [
        ("denied", str(id_counselor)),
        ("allowed", str(id_case_manager)),
    ]
    assert rows[-1].id_user == staff.by_email[demo_email(DISTRICT_ADMIN)]

    admin = session_headers(client, demo_email(SYSTEM_ADMIN), settings.demo_password)
    assert (
        client.delete(f"/api/v1/users/{id_counselor}/second-factor", headers=admin).status_code
        == 204
    )
    assert "token" in password_login(client, counselor_email, settings.demo_password).json()


def _require_for_counselors(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            update(Role).where(Role.name == "counselor").values(requires_second_factor=True)
        )


def test_the_demo_turns_the_requirement_off(
    database: Database, settings: Settings, require_for_counselors: None
) -> None:
    _require_for_counselors(database)
    load_demo(database, settings)
    with database.session_scope() as session:
        assert not any(session.scalars(select(Role.requires_second_factor)))


def test_the_demo_keeps_the_requirement_when_asked(
    database: Database, settings: Settings, require_for_counselors: None
) -> None:
    _require_for_counselors(database)
    load_demo(database, settings, require_second_factor=True)
    with database.session_scope() as session:
        flagged = set(
            session.scalars(select(Role.name).where(Role.requires_second_factor.is_(True)))
        )
    assert flagged == {"counselor"}


def test_the_migration_requires_it_for_health_note_readers(backend: str, workdir: Path) -> None:
    with throwaway_database(backend, workdir) as url:
        engine = create_engine(normalise_url(url))
        try:
            migrations.upgrade(engine)
            with engine.connect() as connection:
                flagged = set(
                    connection.scalars(
                        select(Role.name).where(Role.requires_second_factor.is_(True))
                    )
                )
        finally:
            engine.dispose()
    # The system administrator reads every health note, at global scope.
    assert flagged == {"counselor", "nurse", "system_admin"}


def test_recovery_codes_are_stored_as_sha256_of_the_code(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    make_user(database, settings)
    _secret, codes = enrol(client, session_headers(client, EMAIL), clock)
    with database.session_scope() as session:
        stored = set(session.scalars(select(RecoveryCode.code_hash)))
    expected = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert stored == expected
