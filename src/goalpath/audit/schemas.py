"""Bodies of the audit trail endpoints (read only: the trail has no input bodies)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from goalpath.kit.schemas import Output


class AuditEventOut(Output):
    id_audit_event: int
    occurred_at: datetime
    id_user: int | None
    ip: str | None
    action: str
    resource: str
    record_id: str | None
    id_student: int | None
    outcome: str
    details: dict[str, Any] | None = Field(
        description="What the row adds: changed field names, a denial's reason; never "
        "the contents of notes or passwords"
    )

    @field_validator("details", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        # Stored as JSON text so every backend holds it the same way.
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                return {"text": value}
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        return value


class StudentAccessor(Output):
    """One person who touched a student's records, per the trail."""

    id_user: int | None
    name: str | None
    email: str | None
    events: int
    denied: int
    first_occurred_at: datetime
    last_occurred_at: datetime


class StudentAccessors(Output):
    id_student: int
    items: list[StudentAccessor]
