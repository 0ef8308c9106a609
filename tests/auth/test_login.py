"""Sign-in: no user enumeration, lockout, rehash (SPEC section 4)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.auth.passwords import Passwords
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import User, UserSession
from goalpath.users.service import passwords_from
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, fetch_user, make_user

EMAIL = "casey.morgan@lakeside.example"


def login(client: TestClient, email: str = EMAIL, password: str = DEFAULT_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


class RecordingPasswords(Passwords):
    """Real argon2 hashing that remembers which hashes were verified."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self.verified: list[str | None] = []

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified.append(password_hash)
        return super().verify(password_hash, password)


def test_sign_in_answers_a_token(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    response = login(client, email="  Casey.Morgan@LAKESIDE.example ")
    assert response.status_code == 200
    body = response.json()
    assert len(body["token"]) >= 32
    assert body["expires_at"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == EMAIL
    assert me.json()["role"] == "case_manager"
    assert "password_hash" not in me.text


def test_each_sign_in_gets_a_new_token(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    first, second = login(client).json()["token"], login(client).json()["token"]
    assert first != second
    with database.session_scope() as session:
        stored = list(session.scalars(select(UserSession.token_hash)))
    assert len(stored) == 2
    assert first not in stored and second not in stored  # only hashes are stored


def test_unknown_wrong_and_locked_look_the_same(
    app: FastAPI, client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(database, settings)
    recording = RecordingPasswords(settings)
    app.state.passwords = recording
    unknown = login(client, email="nobody@lakeside.example")
    # The unknown-email path verified the dummy hash, as a known account would a real one.
    assert recording.verified == [recording.dummy_hash]
    wrong = login(client, password="not-the-password-at-all")
    for _ in range(4):
        login(client, password="not-the-password-at-all")
    recording.verified.clear()
    locked = login(client)  # the right password, but the account is locked now
    assert recording.verified == [recording.dummy_hash]  # the real hash was not checked
    assert unknown.status_code == wrong.status_code == locked.status_code == 401
    assert unknown.json() == wrong.json() == locked.json()
    assert unknown.headers["content-type"] == locked.headers["content-type"]


def test_five_failures_lock_and_the_lock_expires(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    for attempt in range(1, 6):
        assert login(client, password="wrong-password-guess").status_code == 401
        user = fetch_user(database, id_user)
        assert user.failed_login_attempts == attempt
    assert user.locked_until is not None
    assert user.locked_until > clock.now
    assert login(client).status_code == 401  # correct password while locked
    clock.advance(minutes=14)
    assert login(client).status_code == 401
    clock.advance(minutes=2)
    assert login(client).status_code == 200
    user = fetch_user(database, id_user)
    assert user.failed_login_attempts == 0
    assert user.locked_until is None


def test_success_resets_the_counter(
    client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    for _ in range(4):
        login(client, password="wrong-password-guess")
    assert login(client).status_code == 200
    assert fetch_user(database, id_user).failed_login_attempts == 0
    for _ in range(4):
        login(client, password="wrong-password-guess")
    assert fetch_user(database, id_user).locked_until is None


def test_deactivated_account_cannot_sign_in(
    client: TestClient, database: Database, settings: Settings, clock: Clock
) -> None:
    id_user = make_user(database, settings)
    with database.session_scope() as session:
        user = session.get(User, id_user)
        assert user is not None
        user.deactivated_at = clock.now
    response = login(client)
    assert response.status_code == 401
    assert response.json() == login(client, email="nobody@lakeside.example").json()


def test_hash_is_upgraded_when_parameters_change(
    app: FastAPI, client: TestClient, database: Database, settings: Settings
) -> None:
    id_user = make_user(database, settings)
    stronger = settings.model_copy(update={"argon2_time_cost": 3})
    app.state.passwords = passwords_from(stronger)
    assert login(client).status_code == 200
    with database.session_scope() as session:
        new_hash = session.scalar(select(User.password_hash).where(User.id_user == id_user))
    assert new_hash is not None and ",t=3," in new_hash
    assert login(client).status_code == 200


def test_default_argon2_parameters_meet_owasp() -> None:
    settings = Settings()
    digest = passwords_from(settings).hash("correct-horse-battery-staple")
    assert digest.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in digest


def test_bad_login_bodies_are_4xx(client: TestClient) -> None:
    for body in (
        {},
        {"email": EMAIL},
        {"email": EMAIL, "password": 12345},
        {"email": EMAIL, "password": "x", "is_admin": True},
        {"email": EMAIL, "password": "x" * 1_000_000},
    ):
        response = client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    response = client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
