"""argon2id hashing (SPEC section 4; OWASP Password Storage Cheat Sheet parameters).

The hasher is built from settings, so raising the cost makes `needs_rehash` true for
older hashes, and sign-in upgrades them.
"""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _hashing_pool(size: int) -> ThreadPoolExecutor:
    """One pool per size for the whole process, however many hashers are built."""
    with _pools_lock:
        if size not in _pools:
            _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")
        return _pools[size]


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int | None = None
    ) -> None:
        # Hashing runs on a pool as large as the core count: a burst of sign-ins queues
        # here instead of starving every other request of CPU, and only these few
        # threads ever hold argon2's 19 MiB working memory (the server's RSS stays flat).
        self._pool = _hashing_pool(concurrency or os.cpu_count() or 1)
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._pool.submit(self._hasher.hash, password).result()

    def verify(self, password_hash: str | None, password: str) -> bool:
        if not password_hash:
            return False
        try:
            return self._pool.submit(self._hasher.verify, password_hash, password).result()
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @cached_property
    def dummy_hash(self) -> str:
        """A hash of nothing anyone knows, verified for unknown emails so that an unknown
        account costs the same time as a known one (no user enumeration by timing)."""
        return self.hash(secrets.token_urlsafe(32))

    def verify_dummy(self, password: str) -> bool:
        self.verify(self.dummy_hash, password)
        return False
