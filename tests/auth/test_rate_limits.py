"""Per-IP and per-account rate limits on sign-in and reset requests, and
X-Forwarded-For believed only from trusted proxies (SPEC section 4)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.kit.ratelimit import RateLimiter


def limited(app: FastAPI, settings: Settings, **rules: str) -> None:
    tight = settings.model_copy(update=rules)
    app.state.settings = tight
    app.state.rate_limiter = RateLimiter.from_settings(tight)


def attempt(client: TestClient, email: str, headers: dict[str, str] | None = None) -> int:
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": "whatever-password-1"},
        headers=headers or {},
    ).status_code


def test_login_per_ip_limit(app: FastAPI, client: TestClient, settings: Settings) -> None:
    limited(app, settings, rate_limit_login_ip="3/minute")
    statuses = [attempt(client, f"person{n}@lakeside.example") for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = client.post(
        "/api/v1/auth/login", json={"email": "x@lakeside.example", "password": "whatever-pass"}
    )
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["content-type"] == "application/problem+json"


def test_login_per_account_limit(app: FastAPI, client: TestClient, settings: Settings) -> None:
    limited(app, settings, rate_limit_login_account="2/minute")
    assert [attempt(client, "target@lakeside.example") for _ in range(3)] == [401, 401, 429]
    # Same account in another spelling counts against the same limit.
    assert attempt(client, "TARGET@lakeside.example") == 429
    assert attempt(client, "someone.else@lakeside.example") == 401


def test_reset_limits(app: FastAPI, client: TestClient, settings: Settings) -> None:
    limited(app, settings, rate_limit_reset_account="2/hour")
    body = {"email": "target@lakeside.example"}
    statuses = [client.post("/api/v1/auth/password-reset", json=body).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


def test_forged_forwarded_for_from_untrusted_peer_changes_nothing(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    limited(app, settings, rate_limit_login_ip="2/minute")
    forged = [
        attempt(client, f"p{n}@lakeside.example", {"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(3)
    ]
    # Each request claimed another address, but the peer is not a trusted proxy, so
    # they all counted against the same (real) address.
    assert forged == [401, 401, 429]


def test_forwarded_for_from_trusted_proxy_is_used(app: FastAPI, settings: Settings) -> None:
    limited(app, settings, rate_limit_login_ip="2/minute", trusted_proxies="10.0.0.0/8")
    with TestClient(app, client=("10.0.0.5", 40000)) as behind_proxy:
        statuses = [
            attempt(behind_proxy, f"p{n}@lakeside.example", {"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(3)
        ]
        # Three different clients behind the proxy: none reaches its own limit.
        assert statuses == [401, 401, 401]
        same = [
            attempt(behind_proxy, f"q{n}@lakeside.example", {"X-Forwarded-For": "198.51.100.9"})
            for n in range(3)
        ]
        assert same == [401, 401, 429]
