"""Writing the audit trail (SPEC section 6).

Rows for allowed actions are written in the request's own transaction, so a change and
its audit row commit or roll back together. Rows for denied or failed requests are kept
whatever becomes of the request: they go out on the request's own connection, with its
commit or right after its rollback (`db.keep_whatever_happens`), never on a second
connection that a burst of refusals could exhaust the pool for. The trail is never
updated or deleted by the application.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from goalpath.db import keep_whatever_happens
from goalpath.models import AuditEvent

ALLOWED = "allowed"
DENIED = "denied"
FAILED = "failed"


@dataclass
class AuditTrail:
    session: Session
    id_user: int | None
    ip: str | None
    now: datetime
    written: list[dict[str, Any]] = field(default_factory=list)

    def _row(
        self,
        action: str,
        resource: str,
        *,
        record_id: int | str | None,
        id_student: int | None,
        outcome: str,
        details: dict[str, Any] | None,
        actor: int | None = None,
    ) -> dict[str, Any]:
        return {
            "occurred_at": self.now,
            "id_user": actor if actor is not None else self.id_user,
            "ip": self.ip,
            "action": action,
            "resource": resource,
            "record_id": None if record_id is None else str(record_id),
            "id_student": id_student,
            "outcome": outcome,
            "details": json.dumps(details, sort_keys=True, default=str) if details else None,
        }

    def record(
        self,
        action: str,
        resource: str,
        *,
        record_id: int | str | None = None,
        id_student: int | None = None,
        details: dict[str, Any] | None = None,
        actor: int | None = None,
    ) -> None:
        """An allowed action, committed with the request."""
        row = self.allowed_row(action, resource, record_id, id_student, details, actor)
        self.session.execute(insert(AuditEvent), [row])
        self.written.append(row)

    def allowed_row(
        self,
        action: str,
        resource: str,
        record_id: int | str | None,
        id_student: int | None,
        details: dict[str, Any] | None,
        actor: int | None = None,
    ) -> dict[str, Any]:
        return self._row(
            action,
            resource,
            record_id=record_id,
            id_student=id_student,
            outcome=ALLOWED,
            details=details,
            actor=actor,
        )

    def record_now(
        self,
        action: str,
        resource: str,
        *,
        outcome: str,
        record_id: int | str | None = None,
        id_student: int | None = None,
        details: dict[str, Any] | None = None,
        actor: int | None = None,
    ) -> None:
        """A denied or failed action, kept whatever becomes of the request."""
        row = self._row(
            action,
            resource,
            record_id=record_id,
            id_student=id_student,
            outcome=outcome,
            details=details,
            actor=actor,
        )
        keep_whatever_happens(self.session, insert(AuditEvent), [row])
        self.written.append(row)


class AuditBatch:
    """Allowed actions of one long unit of work (a roster import), written in chunks
    with one executemany each and not kept afterwards: `AuditTrail.written` would grow
    with every row of a 100,000-student import. Same rows, same transaction as
    `AuditTrail.record`; `flush()` writes what is still pending and must be called
    before the work ends."""

    def __init__(self, trail: AuditTrail, *, size: int = 500) -> None:
        self.trail = trail
        self.size = size
        self.count = 0
        self._pending: list[dict[str, Any]] = []

    def record(
        self,
        action: str,
        resource: str,
        *,
        record_id: int | str | None = None,
        id_student: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._pending.append(
            self.trail.allowed_row(action, resource, record_id, id_student, details)
        )
        if len(self._pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.trail.session.execute(insert(AuditEvent), self._pending)
            self.count += len(self._pending)
            self._pending = []


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Which fields a change touched: names only, never the contents (SPEC section 6)."""
    return sorted(key for key in after if before.get(key) != after[key])
