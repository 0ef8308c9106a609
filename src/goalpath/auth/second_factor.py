"""TOTP second factor and recovery codes (SPEC section 12; RFC 6238, OWASP ASVS 5.0 V6.5).

Codes are SHA-1, 6 digits, 30-second steps, with one step of drift either way. A code
is accepted once: the accepted step is stored and only a later one passes, decided by a
conditional UPDATE so two concurrent uses of one code cannot both win. Secrets are
encrypted at rest with the health-note keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from goalpath import PRODUCT_NAME
from goalpath.config import Settings
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import RecoveryCode, Role, SecondFactorChallenge, User, UserSecondFactor

RECOVERY_CODE_COUNT = 10
CHALLENGE_LIFETIME = timedelta(minutes=5)
CHALLENGE_MAX_CODES = 5
_DRIFT_STEPS = 1
# 16 characters of 31 that are hard to misread (no i, l, o, 0, 1): about 79 bits, far
# beyond what the lockout lets anyone guess, and enough to make SHA-256 storage safe.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: str
    expires_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _time_step(now: datetime) -> int:
    return int(now.timestamp()) // 30


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is, within the allowed drift, else None."""
    totp = pyotp.TOTP(secret)
    current = _time_step(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def is_totp_code(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def _normalise_recovery_code(code: str) -> str:
    return "".join(character for character in code.lower() if character.isalnum())


def enrolled(session: Session, id_user: int) -> bool:
    confirmed = session.scalar(
        select(UserSecondFactor.confirmed_at).where(UserSecondFactor.id_user == id_user)
    )
    return confirmed is not None


def role_requires(session: Session, id_role: int | None) -> bool:
    if id_role is None:
        return False
    return bool(session.scalar(select(Role.requires_second_factor).where(Role.id_role == id_role)))


def enrolment_required(session: Session, user: User) -> bool:
    return role_requires(session, user.id_role) and not enrolled(session, user.id_user)


def begin_enrolment(
    session: Session, settings: Settings, user: User, *, now: datetime
) -> Enrolment:
    """A new secret, not yet in force: it replaces any earlier unconfirmed one."""
    secret = pyotp.random_base32()
    encrypted = HealthNoteCipher.from_settings(settings).encrypt(secret)
    existing = session.get(UserSecondFactor, user.id_user)
    if existing is None:
        session.add(
            UserSecondFactor(id_user=user.id_user, secret_encrypted=encrypted, created_at=now)
        )
    else:
        existing.secret_encrypted = encrypted
        existing.created_at = now
        existing.last_used_step = None
    session.flush()
    return Enrolment(secret=secret, otpauth_uri=otpauth_uri(user, secret))


def otpauth_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.email or str(user.id_user), issuer_name=PRODUCT_NAME
    )


def pending_secret(
    session: Session, settings: Settings, id_user: int
) -> tuple[UserSecondFactor, str] | None:
    factor = session.get(UserSecondFactor, id_user)
    if factor is None:
        return None
    return factor, HealthNoteCipher.from_settings(settings).decrypt(factor.secret_encrypted)


def confirm_enrolment(
    session: Session, factor: UserSecondFactor, step: int, *, now: datetime
) -> list[str]:
    """Turn the factor on and issue fresh recovery codes."""
    factor.confirmed_at = now
    factor.last_used_step = step
    return replace_recovery_codes(session, factor.id_user, now=now)


def replace_recovery_codes(session: Session, id_user: int, *, now: datetime) -> list[str]:
    """Ten new recovery codes in place of every earlier one; only their digests are
    kept, so the list answered here is the only time anyone sees them."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.id_user == id_user))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(
        RecoveryCode(id_user=id_user, code_hash=_digest(code), created_at=now) for code in codes
    )
    session.flush()
    return [f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}" for code in codes]


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    return _matching_step(secret, code, now) if is_totp_code(code) else None


def remove(session: Session, id_user: int) -> bool:
    """Delete the factor and its recovery codes; whether there was one."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.id_user == id_user))
    removed = session.execute(delete(UserSecondFactor).where(UserSecondFactor.id_user == id_user))
    return bool(removed.rowcount)  # type: ignore[attr-defined]


def issue_challenge(session: Session, id_user: int, *, now: datetime) -> IssuedChallenge:
    challenge = secrets.token_urlsafe(32)
    expires_at = now + CHALLENGE_LIFETIME
    session.add(
        SecondFactorChallenge(
            id_user=id_user,
            challenge_hash=_digest(challenge),
            created_at=now,
            expires_at=expires_at,
            attempts=0,
        )
    )
    session.flush()
    return IssuedChallenge(challenge=challenge, expires_at=expires_at)


def find_challenge(session: Session, challenge: str) -> SecondFactorChallenge | None:
    if not challenge or len(challenge) > 256:
        return None
    return session.scalars(
        select(SecondFactorChallenge).where(
            SecondFactorChallenge.challenge_hash == _digest(challenge)
        )
    ).one_or_none()


def reserve_challenge_attempt(session: Session, id_challenge: int, *, now: datetime) -> bool:
    """Take one of the challenge's five tries before the code is checked; False when it
    is used, expired or out of tries."""
    reserved = session.execute(
        update(SecondFactorChallenge)
        .where(
            SecondFactorChallenge.id_second_factor_challenge == id_challenge,
            SecondFactorChallenge.used_at.is_(None),
            SecondFactorChallenge.expires_at > now,
            SecondFactorChallenge.attempts < CHALLENGE_MAX_CODES,
        )
        .values(attempts=SecondFactorChallenge.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return int(reserved.rowcount) == 1  # type: ignore[attr-defined]


def claim_challenge(session: Session, id_challenge: int, *, now: datetime) -> bool:
    claimed = session.execute(
        update(SecondFactorChallenge)
        .where(
            SecondFactorChallenge.id_second_factor_challenge == id_challenge,
            SecondFactorChallenge.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(claimed.rowcount) == 1  # type: ignore[attr-defined]


def accept_totp_step(session: Session, id_user: int, step: int) -> bool:
    """Record `step` as the last accepted one, unless it is not later than it (replay)."""
    accepted = session.execute(
        update(UserSecondFactor)
        .where(
            UserSecondFactor.id_user == id_user,
            UserSecondFactor.confirmed_at.is_not(None),
            or_(
                UserSecondFactor.last_used_step.is_(None),
                UserSecondFactor.last_used_step < step,
            ),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return int(accepted.rowcount) == 1  # type: ignore[attr-defined]


def use_recovery_code(session: Session, id_user: int, code: str, *, now: datetime) -> bool:
    """Spend a recovery code: of two concurrent uses only one UPDATE finds it unused."""
    normalised = _normalise_recovery_code(code)
    if len(normalised) != _RECOVERY_LENGTH:
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.id_user == id_user,
            RecoveryCode.code_hash == _digest(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(used.rowcount) == 1  # type: ignore[attr-defined]


def confirmed_secret(session: Session, settings: Settings, id_user: int) -> str | None:
    encrypted = session.scalar(
        select(UserSecondFactor.secret_encrypted).where(
            UserSecondFactor.id_user == id_user, UserSecondFactor.confirmed_at.is_not(None)
        )
    )
    if encrypted is None:
        return None
    return HealthNoteCipher.from_settings(settings).decrypt(encrypted)
