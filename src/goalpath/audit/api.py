"""HTTP endpoints of the audit trail: read and export only."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/audit-events", tags=["audit"])
