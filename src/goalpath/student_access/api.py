"""HTTP endpoints of the student access domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/students", tags=["student access"])
