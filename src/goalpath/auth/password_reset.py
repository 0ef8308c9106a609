"""Resetting a forgotten password by email (SPEC section 4): a single-use link whose
token is stored hashed and dies when the password changes (Django's reset tokens), and
one answer whether or not the address has an account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED, FAILED
from goalpath.auth.events import email_digest, security_event
from goalpath.auth.lockout import clear_lockout
from goalpath.auth.passwords import Passwords
from goalpath.auth.request import Request
from goalpath.auth.sessions import revoke_user_sessions
from goalpath.auth.tokens import token_digest
from goalpath.config import Settings
from goalpath.errors import GoalpathError
from goalpath.mail.sender import Mailer, MailError, password_reset_message
from goalpath.models import PasswordResetToken, User
from goalpath.users.service import issue_password_link, record_password, validate_new_password


class ResetTokenInvalid(GoalpathError):
    status_code = 400
    title = "Invalid reset link"

    def __init__(self) -> None:
        super().__init__("This reset link is invalid, already used or expired.")


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
        # Another confirmation won. Nothing of this one was written (the UPDATE matched
        # nothing); the refusal undoes it where it was begun (the page's savepoint, the
        # API's request transaction), and its audit row is kept either way.
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
