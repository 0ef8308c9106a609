"""Sign-in, lockout, password change and reset: the rules of SPEC section 4.

Anchors: Django's auth (reset tokens die when the password changes, a dummy hash for
unknown users), Devise lockable (the lockout counter is one atomic SQL update),
OWASP ASVS 5.0 V6 and NIST SP 800-63B-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, undefer

from goalpath.audit.service import DENIED, FAILED, AuditTrail
from goalpath.auth import second_factor
from goalpath.auth.events import email_digest, security_event
from goalpath.auth.passwords import Passwords
from goalpath.auth.policy import normalise
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.auth.sessions import IssuedSession, issue_session, revoke_user_sessions
from goalpath.auth.tokens import token_digest
from goalpath.config import Settings
from goalpath.errors import Conflict, Forbidden, GoalpathError, ValidationFailed
from goalpath.mail.sender import Mailer, MailError, password_reset_message
from goalpath.models import PasswordResetToken, User
from goalpath.users.service import issue_password_link, record_password, validate_new_password


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


class ResetTokenInvalid(GoalpathError):
    status_code = 400
    title = "Invalid reset link"

    def __init__(self) -> None:
        super().__init__("This reset link is invalid, already used or expired.")


@dataclass(frozen=True)
class Request:
    """Where a request came from, for sessions, the security log and the audit trail."""

    ip: str | None
    user_agent: str | None
    now: datetime
    audit: AuditTrail | None = None


def password_expired(user: User, settings: Settings, now: datetime) -> bool:
    if settings.password_max_age_days is None:
        return False
    if user.password_updated_at is None:
        return True
    return user.password_updated_at + timedelta(days=settings.password_max_age_days) <= now


def _reserve_attempt(session: Session, settings: Settings, id_user: int, now: datetime) -> int:
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
                    (count + 1 >= settings.lockout_threshold, now + _lock_length(settings)),
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


def _lock_length(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.lockout_minutes)


def _locked_message(settings: Settings) -> str:
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
    attempt = _reserve_attempt(session, settings, user.id_user, now)
    stored_hash = session.scalar(select(User.password_hash).where(User.id_user == user.id_user))
    session.commit()
    candidate = normalise(password)
    if attempt == 0:
        passwords.verify_dummy(candidate)
        security_event(
            event, audit=request.audit, outcome=DENIED, id_user=user.id_user, reason="locked"
        )
        message = _locked_message(settings)
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
        _record_lock(settings, request, id_user=user.id_user, attempt=attempt)
        raise ValidationFailed(wrong, errors=[{"field": field, "message": wrong}])
    clear_lockout(session, user.id_user)
    session.commit()


def _record_lock(settings: Settings, request: Request, *, id_user: int, attempt: int) -> None:
    # Only the attempt that set the lock writes it (see `_reserve_attempt`): one row per lock.
    if attempt == settings.lockout_threshold:
        security_event(
            "account.locked",
            audit=request.audit,
            outcome=FAILED,
            id_user=id_user,
            until=(request.now + _lock_length(settings)).isoformat(),
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
    _record_lock(settings, request, id_user=id_user, attempt=attempt)


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
        attempt = _reserve_attempt(session, settings, user.id_user, now)
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
            attempt = _reserve_attempt(session, settings, user.id_user, now)
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
        # Nothing of the code check stands (the UPDATEs that matched nothing); the
        # reservation was committed before it.
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
    attempt = _reserve_attempt(session, settings, user.id_user, now)
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
    _record_lock(settings, request, id_user=user.id_user, attempt=attempt)
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


def request_password_reset(
    session: Session,
    settings: Settings,
    mailer: Mailer,
    *,
    email: str,
    request: Request,
) -> None:
    """Always answers the same way; mails a link only to a known, active account.

    A locked account may reset: lockout must not become a denial of service."""
    user = session.scalars(select(User).where(User.email == email.strip().lower())).one_or_none()
    if user is None or not user.is_active or not user.email:
        security_event(
            "password_reset.requested", audit=request.audit, email_digest=email_digest(email)
        )
        return
    link = issue_password_link(
        session,
        settings,
        user,
        now=request.now,
        ip=request.ip,
        lifetime=timedelta(minutes=settings.reset_token_minutes),
    )
    message = password_reset_message(
        to=user.email, name=user.name, link=link, expires_minutes=settings.reset_token_minutes
    )
    try:
        mailer.send(message)
    except MailError as error:
        # The answer stays 202 (no enumeration); operators see the failure in the log.
        security_event(
            "password_reset.mail_failed",
            audit=request.audit,
            outcome=FAILED,
            id_user=user.id_user,
            error=type(error).__name__,
        )
        return
    security_event("password_reset.requested", audit=request.audit, id_user=user.id_user)


def confirm_password_reset(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    token: str,
    new_password: str,
    request: Request,
) -> User:
    now = request.now
    if not token or len(token) > 256:
        raise ResetTokenInvalid
    row = session.execute(
        select(PasswordResetToken, User)
        .join(User, User.id_user == PasswordResetToken.id_user)
        .where(PasswordResetToken.token_hash == token_digest(token))
    ).one_or_none()
    if row is None:
        security_event(
            "password_reset.refused", audit=request.audit, outcome=DENIED, reason="unknown_token"
        )
        raise ResetTokenInvalid
    reset, user = row
    if (
        reset.used_at is not None
        or reset.invalidated_at is not None
        or reset.expires_at <= now
        or not user.is_active
        or reset.created_at is None
        or (user.password_updated_at is not None and reset.created_at < user.password_updated_at)
    ):
        security_event(
            "password_reset.refused",
            audit=request.audit,
            outcome=DENIED,
            id_user=user.id_user,
            reason="dead_token",
        )
        raise ResetTokenInvalid
    validate_new_password(
        session,
        settings,
        passwords,
        new_password,
        email=user.email,
        name=user.name,
        id_user=user.id_user,
    )
    # Marking the token used is the atomic step: of two concurrent confirmations only
    # one UPDATE finds the row still unused.
    claimed = session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.id_password_reset_token == reset.id_password_reset_token,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.invalidated_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        # Nothing of this request stands; rolling back also frees SQLite's write lock
        # for the audit row.
        session.rollback()
        security_event(
            "password_reset.refused",
            audit=request.audit,
            outcome=DENIED,
            id_user=user.id_user,
            reason="raced",
        )
        raise ResetTokenInvalid
    record_password(session, passwords, user, new_password, now=now)
    clear_lockout(session, user.id_user)
    revoke_user_sessions(session, user.id_user, now=now, reason="password_reset")
    security_event("password_reset.completed", audit=request.audit, id_user=user.id_user)
    return user


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
