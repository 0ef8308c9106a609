"""Database sessions: idle and absolute timeouts, revocation, the password cutoff.

SPEC section 4 / OWASP ASVS 5.0 V7: a new random token at every sign-in, stored hashed;
idle 30 min, absolute 12 h; a password change, reset or deactivation ends sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from goalpath.auth.tokens import new_token, token_digest
from goalpath.config import Settings
from goalpath.db import keep_whatever_happens
from goalpath.models import User, UserSession

# last_seen_at is written at most this often, so reads do not all become writes.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedSession:
    token: str
    record: UserSession


def issue_session(
    session: Session,
    settings: Settings,
    *,
    id_user: int,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
) -> IssuedSession:
    token = new_token()
    record = UserSession(
        id_user=id_user,
        token_hash=token_digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(record)
    session.flush()
    return IssuedSession(token, record)


def idle_deadline(record: UserSession, settings: Settings) -> datetime:
    return record.last_seen_at + timedelta(minutes=settings.session_idle_minutes)


def resolve_session(
    session: Session, settings: Settings, token: str, *, now: datetime
) -> tuple[UserSession, User] | None:
    """The live session and its user for a presented token, or None."""
    if not token or len(token) > 256:
        return None
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id_user == UserSession.id_user)
        .where(UserSession.token_hash == token_digest(token))
    ).one_or_none()
    if row is None:
        return None
    record, user = row
    if (
        record.revoked_at is not None
        or record.expires_at <= now
        or idle_deadline(record, settings) <= now
        or user.deactivated_at is not None
        or (user.password_updated_at is not None and record.created_at < user.password_updated_at)
    ):
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        # Kept even when the request is refused, and written at its end on its own
        # connection: a read then takes no write lock until it is done.
        keep_whatever_happens(
            session,
            update(UserSession)
            .where(UserSession.id_user_session == record.id_user_session)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False),
        )
        # Not a change for the ORM to flush again: the kept UPDATE writes it.
        set_committed_value(record, "last_seen_at", now)
    return record, user


def revoke_session(session: Session, id_user_session: int, *, now: datetime, reason: str) -> bool:
    result = session.execute(
        update(UserSession)
        .where(UserSession.id_user_session == id_user_session, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_sessions(
    session: Session,
    id_user: int,
    *,
    now: datetime,
    reason: str,
    keep: int | None = None,
) -> int:
    statement = (
        update(UserSession)
        .where(UserSession.id_user == id_user, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    if keep is not None:
        statement = statement.where(UserSession.id_user_session != keep)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def live_sessions(
    session: Session, settings: Settings, id_user: int, *, now: datetime
) -> list[UserSession]:
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.id_user == id_user,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                UserSession.last_seen_at > idle_cutoff,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id_user_session.desc())
        )
    )
