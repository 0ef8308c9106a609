"""Security events: sign-in, lockout, password and session changes.

Every event is written to the `goalpath.security` log with ids and addresses only,
never a password, token or hash. An unknown email is logged as a short digest so that
repeated attempts can be correlated without recording what was typed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

logger = logging.getLogger("goalpath.security")


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]


def security_event(
    event: str, *, id_user: int | None = None, ip: str | None = None, **details: Any
) -> None:
    fields = " ".join(f"{key}={value}" for key, value in sorted(details.items()))
    logger.info("%s id_user=%s ip=%s %s", event, id_user, ip, fields)
