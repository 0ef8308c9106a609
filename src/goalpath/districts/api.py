"""HTTP endpoints of the districts domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/districts", tags=["districts"])
