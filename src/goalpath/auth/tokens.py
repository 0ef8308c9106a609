"""Opaque random tokens; only their SHA-256 is ever stored."""

from __future__ import annotations

import hashlib
import secrets

# 256 bits: above ASVS 5.0's 128-bit minimum for session and reset tokens.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
