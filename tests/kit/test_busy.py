"""A database that cannot take a request in time answers 503 with Retry-After: the
client may retry, and nothing internal reaches it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from goalpath.app import create_app
from goalpath.db import Database
from tests.conftest import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user


def test_an_exhausted_pool_is_503_with_retry_after(
    database_url: str, workdir: Path, database: Database
) -> None:
    settings = make_settings(
        database_url, workdir, db_pool_size=1, db_pool_overflow=0, db_pool_timeout_seconds=0.5
    )
    make_user(database, settings)
    narrow = Database(settings)
    try:
        with TestClient(create_app(settings, narrow), raise_server_exceptions=False) as client:
            signed_in = client.post(
                "/api/v1/auth/login",
                json={"email": "casey.morgan@lakeside.example", "password": DEFAULT_PASSWORD},
            )
            headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            with narrow.engine.connect():
                busy = client.get("/api/v1/auth/me", headers=headers)
            assert busy.status_code == 503
            assert busy.headers["Retry-After"] == "1"
            assert busy.headers["content-type"] == "application/problem+json"
            assert "try again" in busy.json()["detail"]
            assert "QueuePool" not in busy.text and "Traceback" not in busy.text
            assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    finally:
        narrow.dispose()
