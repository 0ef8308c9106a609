"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from goalpath.db import Database

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable",
    responses={503: {"description": "The database cannot be reached"}},
)
def readyz(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    if database.ping():
        return JSONResponse({"status": "ready", "database": "ok"})
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
