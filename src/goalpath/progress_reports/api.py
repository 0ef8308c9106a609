"""HTTP endpoints of the progress reports domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["progress reports"])
