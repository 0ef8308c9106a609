"""Security events: sign-in, lockout, password and session changes.

Every event is written to the `goalpath.security` log with ids and addresses only,
never a password, token or hash. An unknown email is logged as a short digest so that
repeated attempts can be correlated without recording what was typed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from goalpath.audit.service import ALLOWED, AuditTrail

logger = logging.getLogger("goalpath.security")


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]


def security_event(
    event: str,
    *,
    audit: AuditTrail | None = None,
    id_user: int | None = None,
    ip: str | None = None,
    outcome: str = ALLOWED,
    **details: Any,
) -> None:
    """Log the event, and put it on the audit trail: allowed events commit with the
    request; failed and denied ones are kept whatever becomes of it (written with its
    commit, or after its rollback: `db.keep_whatever_happens`)."""
    ip = audit.ip if audit is not None else ip
    fields = " ".join(f"{key}={value}" for key, value in sorted(details.items()))
    logger.info("%s outcome=%s id_user=%s ip=%s %s", event, outcome, id_user, ip, fields)
    if audit is None:
        return
    arguments: dict[str, Any] = {
        "record_id": id_user,
        "details": details or None,
        "actor": id_user,
    }
    if outcome == ALLOWED:
        audit.record(event, "user", **arguments)
    else:
        audit.record_now(event, "user", outcome=outcome, **arguments)
