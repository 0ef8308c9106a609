"""Security headers on the real app's answers (SPEC section 4)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_api_answers_carry_security_headers(client: TestClient) -> None:
    for response in (
        client.get("/healthz"),
        client.get("/api/v1/auth/me"),
        client.post("/api/v1/auth/login", json={}),
    ):
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # plain http in tests


def test_interactive_docs_are_served_locally(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert "/static/" in page.text
