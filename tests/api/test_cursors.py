"""A cursor is opaque but never trusted: a forged one is a 422, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.kit.pagination import encode_cursor
from tests.fixtures import demo


@pytest.mark.parametrize(
    "values",
    [["abc"], [True], [2**40], [-(2**40)], [{"t": "2026-01-01T00:00:00"}], [1, 2], [None]],
)
def test_forged_cursor_is_422(
    client: TestClient, database: Database, settings: Settings, values: list[object]
) -> None:
    demo.load(database, settings)
    token = client.post(
        "/api/v1/auth/login",
        json={"email": demo_email("Marcus Oyelaran"), "password": settings.demo_password},
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/programs", "/api/v1/districts"):
        response = client.get(path, params={"cursor": encode_cursor(values)}, headers=headers)
        assert response.status_code == 422, (path, values, response.text)
    garbage = client.get("/api/v1/programs", params={"cursor": "%%%not-base64"}, headers=headers)
    assert garbage.status_code == 422
