"""HTTP endpoints of the programs domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/programs", tags=["programs"])
