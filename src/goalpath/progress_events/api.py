"""HTTP endpoints of the progress events domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["progress events"])
