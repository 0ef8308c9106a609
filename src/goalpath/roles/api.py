"""HTTP endpoints of the roles domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["roles"])
