"""The lockout (SPEC section 4): every guess at a password or a code takes an attempt
in one conditional UPDATE before it is checked, so concurrent guesses can never check
more than the threshold allows, and the attempt that sets the lock alone writes the
`account.locked` row (Devise lockable's atomic counter; OWASP ASVS 5.0 V6.3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED, FAILED, AuditTrail
from goalpath.auth.events import security_event
from goalpath.auth.passwords import Passwords
from goalpath.auth.policy import normalise
from goalpath.auth.request import Request
from goalpath.config import Settings
from goalpath.errors import ValidationFailed
from goalpath.models import User


def reserve_attempt(session: Session, settings: Settings, id_user: int, now: datetime) -> int:
    """Count this attempt before the password is checked, and say which attempt of the
    lock window it is (0: the account is locked, do not check).

    Reserving first is what makes the lockout exact under concurrency (SPEC section 4):
    each guess takes its number in one conditional UPDATE, so 30 concurrent guesses get
    exactly `lockout_threshold` password checks, and the attempt that reaches the
    threshold sets the lock before its own check runs. An expired lock is cleared first
    (its own statement: MariaDB assigns SET clauses left to right, seeing the values
    already assigned, so one statement could not both reset and count on every backend).
    """
    session.execute(
        update(User)
        .where(User.id_user == id_user, User.locked_until.is_not(None), User.locked_until <= now)
        .values(failed_login_attempts=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    count = func.coalesce(User.failed_login_attempts, 0)
    reserved = session.execute(
        update(User)
        .where(User.id_user == id_user, User.locked_until.is_(None))
        .ordered_values(
            (
                User.locked_until,
                case(
                    (count + 1 >= settings.lockout_threshold, now + lock_length(settings)),
                    else_=None,
                ),
            ),
            (User.failed_login_attempts, count + 1),
        )
        .execution_options(synchronize_session=False)
    )
    if reserved.rowcount != 1:  # type: ignore[attr-defined]
        return 0
    attempt = session.scalar(select(User.failed_login_attempts).where(User.id_user == id_user))
    return int(attempt or 0)


def lock_length(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.lockout_minutes)


def locked_message(settings: Settings) -> str:
    return (
        "There have been too many wrong passwords for this account; try again in "
        f"{settings.lockout_minutes} minutes."
    )


def check_current_password(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    user: User,
    password: str,
    request: Request,
    event: str,
    field: str,
    wrong: str,
) -> None:
    """The signed-in user's password, asked again before a change that needs it.

    A stolen session must not become an unlimited password oracle (SPEC section 12):
    each try takes a lockout attempt exactly as sign-in does, committed before the hash
    is checked so that a refusal's rollback keeps it. A refusal is `event` on the trail
    and a `ValidationFailed` on `field`; the right password ends the run of failures,
    as a completed sign-in does, committed on its own so that a later refusal of the
    same request does not leave this try counted against the account."""
    now = request.now
    attempt = reserve_attempt(session, settings, user.id_user, now)
    stored_hash = session.scalar(select(User.password_hash).where(User.id_user == user.id_user))
    session.commit()
    candidate = normalise(password)
    if attempt == 0:
        passwords.verify_dummy(candidate)
        security_event(
            event, audit=request.audit, outcome=DENIED, id_user=user.id_user, reason="locked"
        )
        message = locked_message(settings)
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    if not stored_hash or not passwords.verify(stored_hash, candidate):
        security_event(
            event,
            audit=request.audit,
            outcome=DENIED,
            id_user=user.id_user,
            reason="wrong_password",
            attempts=attempt,
        )
        record_lock(settings, request, id_user=user.id_user, attempt=attempt)
        raise ValidationFailed(wrong, errors=[{"field": field, "message": wrong}])
    clear_lockout(session, user.id_user)
    session.commit()


def record_lock(settings: Settings, request: Request, *, id_user: int, attempt: int) -> None:
    # Only the attempt that set the lock writes it (see `_reserve_attempt`): one row per lock.
    if attempt == settings.lockout_threshold:
        security_event(
            "account.locked",
            audit=request.audit,
            outcome=FAILED,
            id_user=id_user,
            until=(request.now + lock_length(settings)).isoformat(),
        )


def record_failed_attempt(
    event: str, settings: Settings, request: Request, *, id_user: int, reason: str, attempt: int
) -> None:
    """Put a refused attempt on the trail, and the lock it set: only the attempt that
    reached the threshold (see `_reserve_attempt`) writes it, so one row per lock."""
    security_event(
        event,
        audit=request.audit,
        outcome=FAILED,
        id_user=id_user,
        reason=reason,
        attempts=attempt or None,
    )
    record_lock(settings, request, id_user=id_user, attempt=attempt)


def clear_lockout(session: Session, id_user: int) -> None:
    session.execute(
        update(User)
        .where(User.id_user == id_user)
        .values(failed_login_attempts=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def unlock_account(session: Session, *, id_user: int, audit: AuditTrail) -> None:
    clear_lockout(session, id_user)
    audit.record("account.unlocked", "user", record_id=id_user)
    security_event("account.unlocked", id_user=id_user, ip=audit.ip, by_user=audit.id_user)
