"""ETags and If-Match for records with `updated_at` (SPEC section 7: no lost updates)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from fastapi import Response

from goalpath.errors import PreconditionFailed


def etag_for(kind: str, record_id: int, updated_at: datetime | None) -> str:
    stamp = updated_at.isoformat() if updated_at else "-"
    digest = hashlib.sha256(f"{kind}:{record_id}:{stamp}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def set_etag(response: Response, kind: str, record_id: int, updated_at: datetime | None) -> None:
    response.headers["ETag"] = etag_for(kind, record_id, updated_at)


def check_if_match(
    if_match: str | None, kind: str, record_id: int, updated_at: datetime | None
) -> None:
    """A PATCH with an If-Match that no longer matches is refused with 412; without the
    header the update goes ahead (clients opt in to the check)."""
    if if_match is None:
        return
    current = etag_for(kind, record_id, updated_at)
    offered = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in offered or current in offered:
        return
    raise PreconditionFailed(
        "The record changed since you read it; reload it and apply your change again."
    )
