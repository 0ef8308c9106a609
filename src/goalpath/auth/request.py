"""Where a request came from, as the sign-in rules need it: for sessions, the security
log and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from goalpath.audit.service import AuditTrail


@dataclass(frozen=True)
class Request:
    ip: str | None
    user_agent: str | None
    now: datetime
    audit: AuditTrail | None = None
