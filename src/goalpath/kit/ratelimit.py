"""Rate limits on sign-in and reset requests (SPEC section 4), counted in a moving window.

Counters live in process memory by default and in Redis when `redis_url` is set, so that
several app servers share one count; with one server per process pool and no Redis,
each process counts on its own.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from goalpath.config import Settings
from goalpath.errors import TooManyRequests

KEY_PREFIX = "goalpath:ratelimit"
# A rate-limit check sits in front of every sign-in; a dead Redis must not hang it.
REDIS_TIMEOUT_SECONDS = 2.0


class RateLimitStorageUnavailable(RuntimeError):
    pass


@lru_cache(maxsize=32)
def parse_rule(rule: str) -> RateLimitItem:
    items = parse_many(rule)
    if len(items) != 1:
        raise ValueError(f"rate limit {rule!r} must be one limit such as '30/minute'")
    return items[0]


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: Settings, *, key_prefix: str = KEY_PREFIX) -> RateLimiter:
        # A typo in a limit should stop the app at startup, not at the first sign-in.
        for rule in (
            settings.rate_limit_login_ip,
            settings.rate_limit_login_account,
            settings.rate_limit_reset_ip,
            settings.rate_limit_reset_account,
        ):
            parse_rule(rule)
        if not settings.redis_url:
            return cls(MemoryStorage())
        storage = RedisStorage(
            settings.redis_url,
            key_prefix=key_prefix,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        # Without this check an unreachable Redis would surface only as errors on sign-in;
        # failing here makes a misconfiguration visible before traffic arrives.
        if not storage.check():
            raise RateLimitStorageUnavailable(
                f"Redis for rate limits is unreachable at {_redacted(settings.redis_url)}"
            )
        return cls(storage)

    def hit(self, rule: str, *keys: str) -> None:
        """Count one request under `keys`; raise TooManyRequests once `rule` is exceeded.

        The keys are stored only as a SHA-256 digest, so account emails and client
        addresses never sit in Redis in clear.
        """
        if not keys:
            raise ValueError("a rate limit needs at least one key")
        limit = parse_rule(rule)
        digest = hashlib.sha256(json.dumps(keys).encode()).hexdigest()
        if self._strategy.hit(limit, digest):
            return
        reset_at, _remaining = self._strategy.get_window_stats(limit, digest)
        retry_after = min(max(1, math.ceil(reset_at - time.time())), limit.get_expiry())
        raise TooManyRequests("Too many attempts; try again later.", retry_after=retry_after)

    def reset(self) -> None:
        self._storage.reset()
