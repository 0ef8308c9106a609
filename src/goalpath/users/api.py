"""/api/v1/users: account administration."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from goalpath.auth.deps import CurrentPrincipal, audited_request_info, request_info
from goalpath.auth.events import security_event
from goalpath.auth.service import unlock_account
from goalpath.auth.sessions import revoke_user_sessions
from goalpath.db import DbSession
from goalpath.errors import Forbidden, NotFound
from goalpath.kit.problems import problem_responses
from goalpath.models import Role, User

router = APIRouter(prefix="/users", tags=["users"])
RESPONSES = problem_responses(401, 403, 404)
_ACCOUNT_ADMINS = ("system_admin", "district_admin")


def _require_account_admin(db: DbSession, principal: CurrentPrincipal, id_user: int) -> User:
    role_name = db.scalar(select(Role.name).where(Role.id_role == principal.user.id_role))
    target = db.get(User, id_user)
    if target is None:
        raise NotFound("No such user.")
    if role_name not in _ACCOUNT_ADMINS:
        raise Forbidden("Only account administrators may do this.")
    return target


@router.post("/{id_user}/unlock", status_code=204, responses=RESPONSES)
def unlock(id_user: int, principal: CurrentPrincipal, request: Request, db: DbSession) -> Response:
    target = _require_account_admin(db, principal, id_user)
    info = audited_request_info(request, db, principal.user.id_user)
    assert info.audit is not None
    unlock_account(db, id_user=target.id_user, audit=info.audit)
    return Response(status_code=204)


@router.delete("/{id_user}/sessions", status_code=204, responses=RESPONSES)
def end_sessions(
    id_user: int, principal: CurrentPrincipal, request: Request, db: DbSession
) -> Response:
    target = _require_account_admin(db, principal, id_user)
    info = request_info(request)
    ended = revoke_user_sessions(db, target.id_user, now=info.now, reason="ended_by_admin")
    security_event(
        "sessions.ended",
        id_user=target.id_user,
        ip=info.ip,
        by_user=principal.user.id_user,
        count=ended,
    )
    return Response(status_code=204)
