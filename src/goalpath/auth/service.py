"""Sign-in in one or two steps, the second factor, and changing a password: the rules
of SPEC sections 4 and 12 (the lockout is `auth.lockout`, a forgotten password
`auth.password_reset`).

Anchors: Django's auth (reset tokens die when the password changes, a dummy hash for
unknown users), Devise lockable (the lockout counter is one atomic SQL update),
OWASP ASVS 5.0 V6 and NIST SP 800-63B-4.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from goalpath.audit.service import DENIED, FAILED, AuditTrail
from goalpath.auth import second_factor
from goalpath.auth.events import email_digest, security_event
from goalpath.auth.lockout import (
    check_current_password,
    clear_lockout,
    record_failed_attempt,
    record_lock,
    reserve_attempt,
)
from goalpath.auth.passwords import Passwords
from goalpath.auth.policy import normalise
from goalpath.auth.request import Request
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.auth.sessions import IssuedSession, issue_session, revoke_user_sessions
from goalpath.config import Settings
from goalpath.errors import Conflict, Forbidden, GoalpathError, ValidationFailed
from goalpath.models import User
from goalpath.users.service import record_password, validate_new_password


class SignInFailed(GoalpathError):
    """One answer for an unknown email, a wrong password, a locked or deactivated
    account: nothing tells an attacker which it was (no user enumeration)."""

    status_code = 401
    title = "Sign-in failed"

    def __init__(self) -> None:
        super().__init__("The email or password is incorrect, or the account is locked.")


class SecondFactorFailed(GoalpathError):
    """The second sign-in step refused. Whoever gets here knew the password, so the
    answer may say whether to try another code or to start again."""

    status_code = 401
    title = "Sign-in failed"

    def __init__(self, *, start_again: bool) -> None:
        self.start_again = start_again
        super().__init__(
            "This sign-in has expired, had too many wrong codes or the account is locked; "
            "sign in again with your password."
            if start_again
            else "The code is incorrect or was already used; enter the current code from "
            "your authenticator app, or an unused recovery code."
        )


def password_expired(user: User, settings: Settings, now: datetime) -> bool:
    if settings.password_max_age_days is None:
        return False
    if user.password_updated_at is None:
        return True
    return user.password_updated_at + timedelta(days=settings.password_max_age_days) <= now


def sign_in(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    request: Request,
) -> tuple[User, IssuedSession | IssuedChallenge]:
    """Check a password (SPEC section 4) without holding a transaction while it is
    hashed: the reservation commits first, the outcome is a second short transaction.
    Every refusal costs one argon2 verification, whatever the reason (no enumeration
    by timing). For an account with a second factor a right password only earns a
    challenge, and the lockout counter stands until the code is right (SPEC 12)."""
    now = request.now
    normalised_email = email.strip().lower()
    candidate = normalise(password)
    user = session.scalars(
        select(User).options(undefer(User.password_hash)).where(User.email == normalised_email)
    ).one_or_none()
    attempt = 0
    if user is not None and user.is_active:
        attempt = reserve_attempt(session, settings, user.id_user, now)
    # Ends the read (or commits the reservation, so concurrent guesses see it) and hands
    # the connection back to the pool while the hash is checked.
    session.commit()
    if user is None:
        passwords.verify_dummy(candidate)
        security_event(
            "login.failed",
            audit=request.audit,
            outcome=FAILED,
            reason="unknown_account",
            email_digest=email_digest(email),
        )
        raise SignInFailed
    if attempt == 0 or not user.password_hash:
        # Locked, deactivated, or invited and not yet set up: the password is not
        # checked, but a hash is still verified so that the answer takes as long.
        passwords.verify_dummy(candidate)
        verified = False
    else:
        verified = passwords.verify(user.password_hash, candidate)
    if not verified:
        if not user.is_active:
            reason = "deactivated"
        elif attempt == 0:
            reason = "locked"
        elif not user.password_hash:
            reason = "no_password"
        else:
            reason = "wrong_password"
        record_failed_attempt(
            "login.failed", settings, request, id_user=user.id_user, reason=reason, attempt=attempt
        )
        raise SignInFailed
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        # Only the stored hash changes; password_updated_at stays, so sessions live on.
        session.execute(
            update(User)
            .where(User.id_user == user.id_user)
            .values(password_hash=passwords.hash(candidate))
            .execution_options(synchronize_session=False)
        )
    if second_factor.enrolled(session, user.id_user):
        challenge = second_factor.issue_challenge(session, user.id_user, now=now)
        security_event("login.second_factor_required", audit=request.audit, id_user=user.id_user)
        return user, challenge
    return user, signed_in(session, settings, user.id_user, request)


def signed_in(
    session: Session, settings: Settings, id_user: int, request: Request, **details: str
) -> IssuedSession:
    """A completed sign-in: the failure count ends, a new session begins, on the trail."""
    clear_lockout(session, id_user)
    issued = issue_session(
        session,
        settings,
        id_user=id_user,
        now=request.now,
        ip=request.ip,
        user_agent=request.user_agent,
    )
    security_event(
        "login.succeeded",
        audit=request.audit,
        id_user=id_user,
        session=issued.record.id_user_session,
        **details,
    )
    return issued


def complete_second_factor(
    session: Session,
    settings: Settings,
    *,
    challenge: str,
    code: str,
    request: Request,
) -> tuple[User, IssuedSession]:
    """The second sign-in step (SPEC section 12), shaped like `sign_in`: the challenge's
    try and the account's lockout attempt are both taken and committed before the code
    is checked, so wrong codes lock exactly as wrong passwords do, also concurrently."""
    now = request.now
    record = second_factor.find_challenge(session, challenge)
    user = session.get(User, record.id_user) if record is not None else None
    alive = False
    attempt = 0
    if record is not None and user is not None and user.is_active:
        alive = second_factor.reserve_challenge_attempt(
            session, record.id_second_factor_challenge, now=now
        )
        if alive:
            attempt = reserve_attempt(session, settings, user.id_user, now)
    session.commit()
    if record is None or user is None or not alive or attempt == 0:
        if record is None or user is None:
            reason = "unknown_challenge"
        elif not user.is_active:
            reason = "deactivated"
        elif not alive:
            reason = "dead_challenge"
        else:
            reason = "locked"
        security_event(
            "login.second_factor_failed",
            audit=request.audit,
            outcome=FAILED,
            id_user=user.id_user if user is not None else None,
            reason=reason,
        )
        raise SecondFactorFailed(start_again=True)
    method, reason = _check_code(session, settings, user.id_user, code, now)
    if method is None:
        # Nothing of the code check stands (the UPDATEs that matched nothing). The
        # reservation was committed just before it, so this ends a transaction that
        # holds the check alone, and hands the connection (and SQLite's write lock)
        # back before the refusal is answered; its audit rows go out on their own
        # after it. The page that shows the refusal calls this outside a savepoint.
        session.rollback()
        record_failed_attempt(
            "login.second_factor_failed",
            settings,
            request,
            id_user=user.id_user,
            reason=reason,
            attempt=attempt,
        )
        raise SecondFactorFailed(start_again=attempt == settings.lockout_threshold)
    if not second_factor.claim_challenge(session, record.id_second_factor_challenge, now=now):
        # Another request took the challenge: the code this one spent (a TOTP step, a
        # recovery code) is given back, as above.
        session.rollback()
        security_event(
            "login.second_factor_failed",
            audit=request.audit,
            outcome=FAILED,
            id_user=user.id_user,
            reason="raced",
        )
        raise SecondFactorFailed(start_again=True)
    return user, signed_in(session, settings, user.id_user, request, second_factor=method)


def _check_code(
    session: Session, settings: Settings, id_user: int, code: str, now: datetime
) -> tuple[str | None, str]:
    """Which kind of code was right ("totp" or "recovery_code"), or None and why not."""
    code = code.strip().replace(" ", "")
    if second_factor.is_totp_code(code):
        secret = second_factor.confirmed_secret(session, settings, id_user)
        step = second_factor.matching_step(secret, code, now) if secret else None
        if step is None:
            return None, "wrong_code"
        if not second_factor.accept_totp_step(session, id_user, step):
            return None, "replayed_code"
        return "totp", ""
    if second_factor.use_recovery_code(session, id_user, code, now=now):
        return "recovery_code", ""
    return None, "wrong_recovery_code"


def begin_second_factor(
    session: Session, settings: Settings, *, user: User, request: Request
) -> second_factor.Enrolment:
    if second_factor.enrolled(session, user.id_user):
        raise Conflict(
            "A second factor is already set up for this account; turn it off first to set "
            "up a new one."
        )
    enrolment = second_factor.begin_enrolment(session, settings, user, now=request.now)
    security_event("second_factor.enrolment_started", audit=request.audit, id_user=user.id_user)
    return enrolment


def confirm_second_factor(
    session: Session, settings: Settings, *, user: User, code: str, request: Request
) -> list[str]:
    """Turn the factor on with a first right code; answers the recovery codes, which are
    shown this once."""
    pending = second_factor.pending_secret(session, settings, user.id_user)
    if pending is None or pending[0].confirmed_at is not None:
        raise Conflict("There is no second factor waiting to be confirmed; start the set-up first.")
    factor, secret = pending
    step = second_factor.matching_step(secret, code.strip().replace(" ", ""), request.now)
    if step is None:
        security_event(
            "second_factor.confirm_refused",
            audit=request.audit,
            outcome=DENIED,
            id_user=user.id_user,
        )
        message = (
            "The code does not match; enter the 6-digit code your authenticator app shows now."
        )
        raise ValidationFailed(message, errors=[{"field": "code", "message": message}])
    codes = second_factor.confirm_enrolment(session, factor, step, now=request.now)
    security_event("second_factor.enabled", audit=request.audit, id_user=user.id_user)
    return codes


def disable_second_factor(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    user: User,
    password: str,
    request: Request,
) -> None:
    """Turn the factor off; the password is asked, and counted, as on the change form."""
    if second_factor.role_requires(session, user.id_role):
        security_event(
            "second_factor.disable_refused",
            audit=request.audit,
            outcome=DENIED,
            id_user=user.id_user,
            reason="required_by_role",
        )
        raise Forbidden(
            "Your role requires a second factor, so it cannot be turned off. An "
            "administrator can reset it if you lost your device."
        )
    check_current_password(
        session,
        settings,
        passwords,
        user=user,
        password=password,
        request=request,
        event="second_factor.disable_refused",
        field="password",
        wrong="The password is incorrect.",
    )
    if not second_factor.remove(session, user.id_user):
        raise Conflict("No second factor is set up for this account.")
    security_event("second_factor.disabled", audit=request.audit, id_user=user.id_user)


def regenerate_recovery_codes(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    user: User,
    password: str | None,
    code: str | None,
    request: Request,
) -> list[str]:
    """A new set of ten recovery codes, shown once; every earlier one stops working.
    Proof is the password or a current code from the app; either counts toward the
    lockout when wrong, and a code is accepted once (replay refused)."""
    if not second_factor.enrolled(session, user.id_user):
        raise Conflict(
            "No second factor is set up for this account, so it has no recovery codes; "
            "set up an authenticator app first."
        )
    event = "second_factor.recovery_codes_refused"
    if code is not None:
        _check_current_code(session, settings, user=user, code=code, request=request, event=event)
    else:
        check_current_password(
            session,
            settings,
            passwords,
            user=user,
            password=password or "",
            request=request,
            event=event,
            field="password",
            wrong="The password is incorrect.",
        )
    codes = second_factor.replace_recovery_codes(session, user.id_user, now=request.now)
    security_event(
        "second_factor.recovery_codes_regenerated", audit=request.audit, id_user=user.id_user
    )
    return codes


def _check_current_code(
    session: Session,
    settings: Settings,
    *,
    user: User,
    code: str,
    request: Request,
    event: str,
) -> None:
    """A current code from the signed-in user's app, taken and counted as at sign-in."""
    now = request.now
    attempt = reserve_attempt(session, settings, user.id_user, now)
    session.commit()
    code = code.strip().replace(" ", "")
    if attempt == 0:
        security_event(
            event, audit=request.audit, outcome=DENIED, id_user=user.id_user, reason="locked"
        )
        message = (
            "There have been too many wrong passwords or codes for this account; try again "
            f"in {settings.lockout_minutes} minutes."
        )
        raise ValidationFailed(message, errors=[{"field": "code", "message": message}])
    secret = second_factor.confirmed_secret(session, settings, user.id_user)
    step = second_factor.matching_step(secret, code, now) if secret else None
    reason = "wrong_code"
    if step is not None:
        if second_factor.accept_totp_step(session, user.id_user, step):
            clear_lockout(session, user.id_user)
            return
        reason = "replayed_code"
    security_event(
        event,
        audit=request.audit,
        outcome=DENIED,
        id_user=user.id_user,
        reason=reason,
        attempts=attempt,
    )
    record_lock(settings, request, id_user=user.id_user, attempt=attempt)
    message = (
        "The code is incorrect or was already used; enter the code your authenticator app "
        "shows now."
    )
    raise ValidationFailed(message, errors=[{"field": "code", "message": message}])


def reset_second_factor(session: Session, *, id_user: int, audit: AuditTrail) -> bool:
    """An administrator's reset, for a lost device; the caller has applied the "may
    manage this account" rule."""
    removed = second_factor.remove(session, id_user)
    audit.record("second_factor.reset", "user", record_id=id_user, details={"removed": removed})
    security_event(
        "second_factor.reset", id_user=id_user, ip=audit.ip, by_user=audit.id_user, removed=removed
    )
    return removed


def change_password(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    user: User,
    current_password: str,
    new_password: str,
    current_session_id: int,
    request: Request,
) -> IssuedSession:
    """Change a password (the current one is required, see `check_current_password`);
    end every other session and rotate the current one, whose token predates the new
    password."""
    check_current_password(
        session,
        settings,
        passwords,
        user=user,
        password=current_password,
        request=request,
        event="password.change_refused",
        field="current_password",
        wrong="The current password is incorrect.",
    )
    validate_new_password(
        session,
        settings,
        passwords,
        new_password,
        email=user.email,
        name=user.name,
        id_user=user.id_user,
    )
    record_password(session, passwords, user, new_password, now=request.now)
    revoke_user_sessions(session, user.id_user, now=request.now, reason="password_changed")
    issued = issue_session(
        session,
        settings,
        id_user=user.id_user,
        now=request.now,
        ip=request.ip,
        user_agent=request.user_agent,
    )
    security_event("password.changed", audit=request.audit, id_user=user.id_user)
    return issued
