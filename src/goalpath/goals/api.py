"""HTTP endpoints of the goals domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["goals"])
