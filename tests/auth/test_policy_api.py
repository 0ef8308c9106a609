"""The password policy through the password-change endpoint (SPEC section 4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.auth.policy import common_passwords
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Role
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user

EMAIL = "casey.morgan@lakeside.example"


@pytest.fixture
def signed_in(client: TestClient, database: Database, settings: Settings) -> dict[str, str]:
    make_user(database, settings)
    response = client.post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": DEFAULT_PASSWORD}
    )
    return {"current": DEFAULT_PASSWORD, "token": response.json()["token"]}


def change(client: TestClient, state: dict[str, str], new: str):  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/auth/password",
        headers={"Authorization": f"Bearer {state['token']}"},
        json={"current_password": state["current"], "new_password": new},
    )
    if response.status_code == 200:
        state["current"] = new
        state["token"] = response.json()["token"]
    return response


def rules(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {error.get("code") for error in response.json().get("errors", [])}


def test_length_boundaries(client: TestClient, signed_in: dict[str, str]) -> None:
    assert change(client, signed_in, "p" + "almtree-drift1"[:13]).status_code == 422  # 14
    assert rules(change(client, signed_in, "x" * 14)) == {"min_length"}
    assert change(client, signed_in, "palmtree-drift-1").status_code == 200  # 16
    assert change(client, signed_in, "q" + "uietly-drift-7"[:14]).status_code == 200  # 15
    at_max = ("velvet-harbor-" * 10)[:128]
    assert change(client, signed_in, at_max).status_code == 200
    response = change(client, signed_in, at_max + "z")
    assert response.status_code == 422
    assert rules(response) == {"max_length"}


def test_common_and_context_passwords(client: TestClient, signed_in: dict[str, str]) -> None:
    common = sorted(word for word in common_passwords() if len(word) >= 15)[0]
    response = change(client, signed_in, common)
    assert response.status_code == 422
    assert "common" in rules(response)
    response = change(client, signed_in, "morgan-likes-long-walks")
    assert rules(response) == {"context"}
    assert "name" in response.json()["detail"]


def test_last_five_passwords_are_refused(client: TestClient, signed_in: dict[str, str]) -> None:
    used = [DEFAULT_PASSWORD]
    for number in range(1, 5):
        new = f"rotation-number-{number}-lantern"
        assert change(client, signed_in, new).status_code == 200
        used.append(new)
    for old in used:
        response = change(client, signed_in, old)
        assert response.status_code == 422, old
        assert rules(response) == {"history"}
    assert change(client, signed_in, "rotation-number-5-lantern").status_code == 200
    # The oldest is now six passwords back and allowed again.
    assert change(client, signed_in, DEFAULT_PASSWORD).status_code == 200


def test_megabyte_password_is_refused_before_any_work(
    client: TestClient, signed_in: dict[str, str]
) -> None:
    response = change(client, signed_in, "x" * 1_000_000)
    assert response.status_code == 422
    # Refused by the request model's size bound: no normalising, no hashing.
    assert rules(response) == {"string_too_long"}


WEAK_PASSWORDS = (
    "aaaaaaaaaaaaaaa",
    "123456789012345",
    "qwertyuiopasdfghjkl",
    "passwordpassword",
    "Password1234567",
)


def test_guessable_passwords_are_refused_with_a_reason(
    client: TestClient, signed_in: dict[str, str]
) -> None:
    """SPEC section 12: the strength estimate refuses what the common list misses."""
    for weak in WEAK_PASSWORDS:
        response = change(client, signed_in, weak)
        assert response.status_code == 422, weak
        assert rules(response) in ({"weak"}, {"common"}), (weak, response.json())
        assert "guess" in response.json()["detail"] or "common" in response.json()["detail"]
    keyboard = change(client, signed_in, "qwertyuiopasdfghjkl")
    assert "keyboard" in keyboard.json()["detail"]
    assert change(client, signed_in, "correct horse battery staple").status_code == 200


def test_creating_an_account_with_a_guessable_password_is_refused(
    client: TestClient, database: Database, settings: Settings
) -> None:
    make_user(
        database, settings, email="dana.admin@lakeside.example", name="Dana", role="system_admin"
    )
    login = client.post(
        "/api/v1/auth/login",
        json={"email": "dana.admin@lakeside.example", "password": DEFAULT_PASSWORD},
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    with database.session_scope() as session:
        id_role = session.scalar(select(Role.id_role).where(Role.name == "case_manager"))
    body = {"email": "jo.new@lakeside.example", "name": "Jo New", "id_role": id_role}
    refused = client.post(
        "/api/v1/users", json={**body, "password": "passwordpassword"}, headers=headers
    )
    assert refused.status_code == 422
    assert rules(refused) == {"weak"}
    assert "repeats" in refused.json()["detail"]
    created = client.post(
        "/api/v1/users",
        json={**body, "password": "correct horse battery staple"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
