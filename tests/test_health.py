from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from tests.conftest import make_settings


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_with_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_without_database(workdir: Path) -> None:
    # A file database inside a path that is a regular file cannot be opened.
    blocker = workdir / "not-a-directory"
    blocker.write_text("x")
    settings: Settings = make_settings(f"sqlite:///{blocker}/goalpath.db", workdir)
    database = Database.__new__(Database)
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    database.settings = settings
    database.engine = create_engine(f"sqlite:///{blocker}/goalpath.db")
    database.session_factory = sessionmaker(database.engine)
    with TestClient(create_app(settings, database)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_unknown_route_is_problem_details(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert set(body) >= {"type", "title", "status", "detail"}


def test_unexpected_error_reveals_nothing(settings: Settings, database: Database) -> None:
    app = create_app(settings, database)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM user -- password_hash=$argon2id$")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    text = response.text
    assert "SELECT" not in text
    assert "argon2" not in text
    assert "Traceback" not in text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_openapi_document_is_served(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/readyz" in response.json()["paths"]


def test_text_no_database_can_store_is_refused(client: TestClient) -> None:
    # JSON escapes, as a client would send them: a NUL, and a lone surrogate.
    for email in ("a\\u0000b@lakeside.example", "\\ud800@lakeside.example"):
        response = client.post(
            "/api/v1/auth/password-reset",
            content=('{"email": "' + email + '"}').encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
