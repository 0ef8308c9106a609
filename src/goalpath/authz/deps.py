"""The acting user of an HTTP request, built once per request for endpoints and pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from goalpath.audit.service import AuditTrail
from goalpath.auth.deps import CurrentPrincipal, request_info
from goalpath.authz.actor import Actor
from goalpath.authz.grants import load_grants
from goalpath.authz.service import Authorizer
from goalpath.db import DbSession


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
