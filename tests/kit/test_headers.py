from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from starlette.staticfiles import StaticFiles

from goalpath.config import Settings
from goalpath.kit.headers import install_security_headers
from goalpath.kit.problems import install_problem_handlers

EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}
HSTS = "max-age=63072000; includeSubDomains"


def _app(public_base_url: str, static_dir: Path) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/data")
    def data() -> dict[str, str]:
        return {"student": "Ada"}

    @app.get("/reset")
    def reset_page(response: Response) -> dict[str, str]:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "private, max-age=5"
        return {"page": "reset"}

    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    install_security_headers(app, Settings(public_base_url=public_base_url))
    return app


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    (tmp_path / "site.css").write_text("body { margin: 0; }\n")
    return tmp_path


@pytest.fixture
def client(static_dir: Path) -> TestClient:
    return TestClient(_app("http://127.0.0.1:8000", static_dir))


@pytest.mark.parametrize(("path", "status"), [("/data", 200), ("/missing", 404)])
def test_every_header_on_json_and_not_found(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_no_hsts_over_plain_http(client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/data").headers


def test_hsts_when_public_url_is_https(static_dir: Path) -> None:
    client = TestClient(_app("https://goalpath.example.org", static_dir))
    assert client.get("/data").headers["strict-transport-security"] == HSTS
    assert client.get("/missing").headers["strict-transport-security"] == HSTS


def test_hsts_when_request_arrives_over_https(static_dir: Path) -> None:
    client = TestClient(_app("http://127.0.0.1:8000", static_dir), base_url="https://testserver")
    assert client.get("/data").headers["strict-transport-security"] == HSTS


def test_endpoint_headers_are_kept(client: TestClient) -> None:
    response = client.get("/reset")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "private, max-age=5"
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]
    assert response.headers["x-frame-options"] == "DENY"


def test_static_files_are_cacheable(client: TestClient) -> None:
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert "cache-control" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == EXPECTED["content-security-policy"]
    # Only the /static/ tree is exempt, not paths that merely begin with the word.
    assert client.get("/staticky").headers["cache-control"] == "no-store"
