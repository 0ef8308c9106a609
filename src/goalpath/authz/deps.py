"""The acting user of a request: who, with which rights, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from goalpath.audit.service import AuditTrail
from goalpath.auth.deps import CurrentPrincipal, request_info
from goalpath.auth.service import Request as RequestInfo
from goalpath.authz.grants import Grants, load_grants
from goalpath.authz.service import Authorizer
from goalpath.db import DbSession
from goalpath.models import User, UserSession


@dataclass(frozen=True)
class Actor:
    user: User
    user_session: UserSession
    grants: Grants
    authz: Authorizer
    audit: AuditTrail
    info: RequestInfo
    db: Session

    @property
    def id_user(self) -> int:
        return self.user.id_user


def current_actor(principal: CurrentPrincipal, request: Request, db: DbSession) -> Actor:
    info = request_info(request)
    grants = load_grants(db, principal.user.id_user, principal.user.id_role)
    audit = AuditTrail(db, id_user=principal.user.id_user, ip=info.ip, now=info.now)
    request.state.audit = audit
    return Actor(
        user=principal.user,
        user_session=principal.session,
        grants=grants,
        authz=Authorizer(db, grants, audit),
        audit=audit,
        info=info,
        db=db,
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
