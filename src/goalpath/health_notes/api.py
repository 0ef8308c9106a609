"""HTTP endpoints of the health notes domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health notes"])
