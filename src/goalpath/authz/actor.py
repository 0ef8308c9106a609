"""The acting user of a request as services see it: who, with which rights, and where
their reads and changes are written down.

It is built by the HTTP layer (`authz.deps.current_actor` for the API and the pages) or
by the command line, and services take it without knowing which: a service never
imports FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from goalpath.authz.grants import Grants

if TYPE_CHECKING:
    # auth's service imports the users domain, whose service takes an Actor: naming the
    # request record only for the type checker keeps that chain from looping.
    from goalpath.audit.service import AuditTrail
    from goalpath.auth.request import Request as RequestInfo
    from goalpath.authz.service import Authorizer
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
