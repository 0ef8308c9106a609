"""Staff accounts: creation and password setting, the rules of SPEC section 4."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from goalpath.auth.passwords import Passwords
from goalpath.auth.policy import check_password, normalise
from goalpath.config import Settings
from goalpath.errors import Conflict, ValidationFailed
from goalpath.models import PasswordHistory, SchoolDistrict, User
from goalpath.models.base import utcnow

_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def passwords_from(settings: Settings) -> Passwords:
    return Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
    )


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively, so they are stored lower-cased."""
    normalised = email.strip().lower()
    if len(normalised) > 255 or not _EMAIL_SHAPE.match(normalised):
        raise ValidationFailed(
            "The email address is not valid.",
            errors=[{"field": "email", "message": "Enter a valid email address."}],
        )
    return normalised


def district_names(session: Session) -> list[str]:
    return [name for name in session.scalars(select(SchoolDistrict.name)) if name]


def validate_new_password(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    password: str,
    *,
    email: str | None,
    name: str | None,
    id_user: int | None = None,
) -> None:
    """Raise ValidationFailed naming every policy rule the password breaks."""

    def matches_recent(candidate: str) -> bool:
        if id_user is None or settings.password_history_count == 0:
            return False
        recent = session.scalars(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.id_user == id_user)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id_password_history.desc())
            .limit(settings.password_history_count)
        )
        return any(passwords.verify(old_hash, candidate) for old_hash in recent)

    failures = check_password(
        password,
        min_length=settings.password_min_length,
        max_length=settings.password_max_length,
        email=email,
        name=name,
        district_names=district_names(session),
        matches_recent=matches_recent,
    )
    if failures:
        raise ValidationFailed(
            " ".join(failure.message for failure in failures),
            errors=[
                {"field": "password", "code": failure.rule, "message": failure.message}
                for failure in failures
            ],
        )


def record_password(
    session: Session, passwords: Passwords, user: User, password: str, *, now: datetime
) -> None:
    """Set a new password hash and remember it in password_history."""
    new_hash = passwords.hash(normalise(password))
    user.password_hash = new_hash
    user.password_updated_at = now
    session.add(PasswordHistory(id_user=user.id_user, password_hash=new_hash, created_at=now))


def create_user(
    session: Session,
    settings: Settings,
    passwords: Passwords,
    *,
    email: str,
    name: str,
    password: str | None,
    id_role: int | None,
) -> User:
    email = normalise_email(email)
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationFailed(
            "A name of 1 to 255 characters is required.",
            errors=[{"field": "name", "message": "Enter a name of 1 to 255 characters."}],
        )
    existing = session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if existing:
        raise Conflict("An account with this email already exists.")
    if password is not None:
        validate_new_password(session, settings, passwords, password, email=email, name=name)
    now = utcnow()
    user = User(email=email, name=name, id_role=id_role, failed_login_attempts=0, created_at=now)
    session.add(user)
    session.flush()
    if password is not None:
        record_password(session, passwords, user, password, now=now)
    session.flush()
    return user
