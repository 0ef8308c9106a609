from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from goalpath.config import Settings
from goalpath.errors import TooManyRequests
from goalpath.kit.ratelimit import RateLimiter, RateLimitStorageUnavailable

TEST_REDIS_URL = os.environ.get("GOALPATH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _exhaust(limiter: RateLimiter, rule: str, count: int, *keys: str) -> None:
    for _ in range(count):
        limiter.hit(rule, *keys)


def _assert_limited(limiter: RateLimiter, rule: str, *keys: str) -> None:
    with pytest.raises(TooManyRequests) as raised:
        limiter.hit(rule, *keys)
    # The window opened moments ago, so the wait is close to the whole minute.
    assert 55 <= raised.value.retry_after <= 60
    assert raised.value.status_code == 429


def _check_limit_behaviour(first: RateLimiter, second: RateLimiter) -> None:
    _exhaust(first, "3/minute", 2, "login-account", "pat@example.org")
    _exhaust(second, "3/minute", 1, "login-account", "pat@example.org")
    _assert_limited(first, "3/minute", "login-account", "pat@example.org")
    _assert_limited(second, "3/minute", "login-account", "pat@example.org")
    # Another account, and the same value under another scope, count separately.
    _exhaust(first, "3/minute", 3, "login-account", "sam@example.org")
    _exhaust(second, "3/minute", 3, "login-ip", "pat@example.org")
    first.reset()
    _exhaust(second, "3/minute", 3, "login-account", "pat@example.org")
    _assert_limited(first, "3/minute", "login-account", "pat@example.org")


def test_memory_limiter_counts_keys_separately_and_resets() -> None:
    limiter = RateLimiter.from_settings(Settings(redis_url=None))
    _check_limit_behaviour(limiter, limiter)


def test_memory_limiters_do_not_share_counts() -> None:
    first = RateLimiter.from_settings(Settings(redis_url=None))
    second = RateLimiter.from_settings(Settings(redis_url=None))
    _exhaust(first, "1/minute", 1, "login-ip", "203.0.113.7")
    second.hit("1/minute", "login-ip", "203.0.113.7")
    _assert_limited(first, "1/minute", "login-ip", "203.0.113.7")


def test_hour_limit_gives_a_longer_wait() -> None:
    limiter = RateLimiter.from_settings(Settings(redis_url=None))
    limiter.hit("1/hour", "reset-account", "pat@example.org")
    with pytest.raises(TooManyRequests) as raised:
        limiter.hit("1/hour", "reset-account", "pat@example.org")
    assert 3590 <= raised.value.retry_after <= 3600


def test_invalid_rule_in_settings_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="often"):
        RateLimiter.from_settings(Settings(redis_url=None, rate_limit_login_ip="30 often"))


def test_hit_needs_a_key() -> None:
    limiter = RateLimiter.from_settings(Settings(redis_url=None))
    with pytest.raises(ValueError, match="key"):
        limiter.hit("3/minute")


def test_unreachable_redis_fails_at_construction() -> None:
    # Nothing listens on port 1; the password must not appear in the error.
    settings = Settings(redis_url="redis://:hunter2@127.0.0.1:1/0")
    with pytest.raises(RateLimitStorageUnavailable, match="unreachable") as raised:
        RateLimiter.from_settings(settings)
    assert "hunter2" not in str(raised.value)
    assert "127.0.0.1:1" in str(raised.value)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {TEST_REDIS_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield client
    client.close()


def test_redis_limiters_share_counts(redis_client: redis.Redis) -> None:
    # A prefix of its own keeps this run apart from any other using the same database.
    prefix = f"goalpath-test:{uuid.uuid4().hex}"
    settings = Settings(redis_url=TEST_REDIS_URL)
    first = RateLimiter.from_settings(settings, key_prefix=prefix)
    second = RateLimiter.from_settings(settings, key_prefix=prefix)
    try:
        _check_limit_behaviour(first, second)
        stored = [key.decode() for key in redis_client.scan_iter(f"{prefix}:*")]
        assert stored
        assert not any("example.org" in key for key in stored)
        digest = hashlib.sha256(
            json.dumps(["login-account", "pat@example.org"]).encode()
        ).hexdigest()
        assert any(digest in key for key in stored)
    finally:
        first.reset()
    assert list(redis_client.scan_iter(f"{prefix}:*")) == []
