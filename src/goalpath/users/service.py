"""Staff accounts: creation, invitation, changes and deactivation (SPEC sections 4, 5).

Who may see or change an account is decided by `authz` (resource `user`); granting a
role goes through the escalation guard. Two rules of this module close the gaps those
leave: an account whose role carries rights the actor lacks can only be changed by
someone who could have granted that role (else a district administrator could change
a system administrator's email and take the account over by a reset), and nobody
deactivates themselves.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import Integer, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED
from goalpath.auth.passwords import Passwords
from goalpath.auth.policy import check_password, normalise
from goalpath.auth.sessions import revoke_user_sessions
from goalpath.auth.tokens import new_token, token_digest
from goalpath.authz.actor import Actor
from goalpath.authz.escalation import missing_rights, require_can_grant_role, role_rights
from goalpath.authz.service import Bindings
from goalpath.config import Settings
from goalpath.errors import Conflict, Forbidden, GoalpathError, ValidationFailed
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.mail.sender import Mailer, MailError, account_invite_message
from goalpath.models import PasswordHistory, PasswordResetToken, Role, SchoolDistrict, User
from goalpath.models.base import utcnow
from goalpath.users.schemas import UserCreate, UserFilters

logger = logging.getLogger("goalpath.users")

RESOURCE = "user"
# An invited person may not read their mail within the half hour a reset link lives;
# three days covers a weekend. The link works once, like a reset link.
INVITATION_HOURS = 72
# Ids start at 1, so 0 stands for the account about to be created: an id that has no
# program membership yet, which is what the `user` scopes need to decide a create.
_NEW_ACCOUNT = 0

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
        min_guesses=settings.password_min_guesses,
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
    id_school_district_home: int | None = None,
    now: datetime | None = None,
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
    now = now or utcnow()
    user = User(
        email=email,
        name=name,
        id_role=id_role,
        id_school_district_home=id_school_district_home,
        failed_login_attempts=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    if password is not None:
        record_password(session, passwords, user, password, now=now)
    session.flush()
    return user


class MailUnavailable(GoalpathError):
    """The invitation could not be sent; the account is not created without it."""

    status_code = 503
    title = "Mail unavailable"


def issue_password_link(
    session: Session,
    settings: Settings,
    user: User,
    *,
    now: datetime,
    ip: str | None,
    lifetime: timedelta,
) -> str:
    """A set-password link for `user`, stored as a reset token the way a reset request
    stores one (SPEC section 4): earlier open tokens die, only the SHA-256 is kept, and
    the link is built from the configured base URL, never the request's Host."""
    _invalidate_open_links(session, user.id_user, now)
    token = new_token()
    session.add(
        PasswordResetToken(
            id_user=user.id_user,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + lifetime,
            request_ip=ip,
        )
    )
    session.flush()
    return f"{settings.public_base_url}/reset-password?token={token}"


def _invalidate_open_links(session: Session, id_user: int, now: datetime) -> None:
    session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.id_user == id_user,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.invalidated_at.is_(None),
        )
        .values(invalidated_at=now)
        .execution_options(synchronize_session=False)
    )


def _flush(actor: Actor) -> None:
    try:
        actor.db.flush()
    except IntegrityError as error:
        # Two requests claiming the same email at once: the unique index decides.
        raise Conflict("An account with this email already exists.") from error


def _require_role(actor: Actor, id_role: int) -> None:
    if actor.db.get(Role, id_role) is None:
        raise ValidationFailed(
            "There is no role with this id.",
            errors=[{"field": "id_role", "message": "No such role."}],
        )


def manageable_account(actor: Actor, id_user: int, action: str) -> User:
    """The one "may manage this account" rule (SPEC section 11) for every change to an
    account: it is in the actor's scope for `user:update` (404 outside it, 403 when only
    readable), and its role carries no right the actor lacks (else a lesser
    administrator could demote, lock out, re-address and so take over an account that
    outranks them). People may manage their own account as far as their role allows."""
    target = actor.authz.fetch(User, id_user, RESOURCE, "update")
    if target.id_user == actor.id_user or target.id_role is None:
        return target
    missing = missing_rights(actor.grants, role_rights(actor.db, target.id_role))
    if missing:
        actor.audit.record_now(
            action,
            RESOURCE,
            outcome=DENIED,
            record_id=target.id_user,
            details={"reason": "outranks", "missing": missing},
        )
        raise Forbidden(
            "This account's role carries rights you do not hold, so only someone who "
            "holds them may change it."
        )
    return target


def _home_district(actor: Actor, named: int | None) -> int | None:
    """A new account's home district: the one named, which must be a district the
    creator may read, or the creator's own."""
    if named is None:
        return actor.user.id_school_district_home
    if not actor.authz.can(
        "school_district", "read", Bindings(id_school_district=literal(named, Integer))
    ):
        raise ValidationFailed(
            "You can only create accounts in a district you administer.",
            errors=[
                {
                    "field": "id_school_district_home",
                    "message": "Choose one of your districts.",
                }
            ],
        )
    return named


def _email_taken(actor: Actor, email: str, *, other_than: int) -> bool:
    return bool(
        actor.db.scalar(
            select(func.count())
            .select_from(User)
            .where(User.email == email, User.id_user != other_than)
        )
    )


def list_users(
    actor: Actor, filters: UserFilters, page: PageRequest
) -> tuple[list[User], str | None]:
    statement = actor.authz.scoped(select(User), RESOURCE)
    if filters.email_prefix:
        statement = statement.where(
            User.email.startswith(filters.email_prefix.strip().lower(), autoescape=True)
        )
    if filters.id_role is not None:
        statement = statement.where(User.id_role == filters.id_role)
    if filters.active is True:
        statement = statement.where(User.deactivated_at.is_(None))
    elif filters.active is False:
        statement = statement.where(User.deactivated_at.is_not(None))
    if filters.locked_at is not None:
        statement = statement.where(User.locked_until > filters.locked_at)
    return keyset_page(actor.db, statement, [User.id_user.expression], page)


def get_user(actor: Actor, id_user: int) -> User:
    return actor.authz.fetch(User, id_user, RESOURCE)


def create_account(
    actor: Actor,
    settings: Settings,
    passwords: Passwords,
    mailer: Mailer,
    body: UserCreate,
) -> User:
    """A new account with the given password, or with an emailed set-password link."""
    home = _home_district(actor, body.id_school_district_home)
    actor.authz.require_can(
        RESOURCE,
        "create",
        Bindings(id_user=literal(_NEW_ACCOUNT), id_school_district=literal(home, Integer)),
    )
    _require_role(actor, body.id_role)
    require_can_grant_role(
        actor.db, actor.grants, actor.audit, id_role=body.id_role, id_target_user=None
    )
    now = actor.info.now
    try:
        user = create_user(
            actor.db,
            settings,
            passwords,
            email=body.email,
            name=body.name,
            password=body.password,
            id_role=body.id_role,
            id_school_district_home=home,
            now=now,
        )
    except IntegrityError as error:
        raise Conflict("An account with this email already exists.") from error
    invited = body.password is None
    if invited:
        _send_invitation(actor, settings, mailer, user)
    fields = ["email", "id_role", "name"] + ([] if invited else ["password"])
    actor.audit.record(
        "create", RESOURCE, record_id=user.id_user, details={"fields": fields, "invited": invited}
    )
    return user


def _send_invitation(actor: Actor, settings: Settings, mailer: Mailer, user: User) -> None:
    assert user.email is not None
    lifetime = timedelta(hours=INVITATION_HOURS)
    link = issue_password_link(
        actor.db, settings, user, now=actor.info.now, ip=actor.info.ip, lifetime=lifetime
    )
    message = account_invite_message(
        to=user.email, name=user.name, link=link, expires_minutes=INVITATION_HOURS * 60
    )
    try:
        mailer.send(message)
    except MailError as error:
        # Raising rolls the account back: one that nobody can sign in to is worse than
        # a retry. The log line carries the mail error, never the link.
        logger.warning("invitation for new account not sent: %s", error)
        raise MailUnavailable(
            "The invitation email could not be sent, so the account was not created; "
            "try again later or give an initial password."
        ) from error


def update_account(actor: Actor, id_user: int, changes: dict[str, Any]) -> User:
    user = manageable_account(actor, id_user, "update")
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise ValidationFailed(
                "A name of 1 to 255 characters is required.",
                errors=[{"field": "name", "message": "Enter a name of 1 to 255 characters."}],
            )
    changed = sorted(name for name, value in changes.items() if getattr(user, name) != value)
    if "id_role" in changed:
        _require_role(actor, changes["id_role"])
        require_can_grant_role(
            actor.db, actor.grants, actor.audit, id_role=changes["id_role"], id_target_user=id_user
        )
    if "email" in changed:
        if _email_taken(actor, changes["email"], other_than=id_user):
            raise Conflict("An account with this email already exists.")
        # A link already mailed to the old address must not outlive the change.
        _invalidate_open_links(actor.db, id_user, actor.info.now)
    for name in changed:
        setattr(user, name, changes[name])
    _flush(actor)
    actor.audit.record("update", RESOURCE, record_id=id_user, details={"fields": changed})
    return user


def deactivate_account(actor: Actor, id_user: int) -> User:
    user = manageable_account(actor, id_user, "deactivate")
    if user.id_user == actor.id_user:
        raise Conflict("Nobody can deactivate their own account; ask another administrator.")
    if user.deactivated_at is not None:
        raise Conflict("This account is already deactivated.")
    now = actor.info.now
    user.deactivated_at = now
    ended = revoke_user_sessions(actor.db, id_user, now=now, reason="deactivated")
    _invalidate_open_links(actor.db, id_user, now)
    actor.db.flush()
    actor.audit.record(
        "deactivate",
        RESOURCE,
        record_id=id_user,
        details={"fields": ["deactivated_at"], "sessions_ended": ended},
    )
    return user


def reactivate_account(actor: Actor, id_user: int) -> User:
    user = manageable_account(actor, id_user, "reactivate")
    if user.deactivated_at is None:
        raise Conflict("This account is active.")
    user.deactivated_at = None
    actor.db.flush()
    actor.audit.record(
        "reactivate", RESOURCE, record_id=id_user, details={"fields": ["deactivated_at"]}
    )
    return user


def refuse_delete(actor: Actor, id_user: int) -> NoReturn:
    actor.authz.fetch(User, id_user, RESOURCE, "delete")
    raise Conflict(
        "Accounts are never deleted, so the records their holders wrote keep their author; "
        "deactivate the account instead (POST /users/{id_user}/deactivate)."
    )


def end_sessions(actor: Actor, id_user: int) -> int:
    user = manageable_account(actor, id_user, "sessions.ended")
    ended = revoke_user_sessions(
        actor.db, user.id_user, now=actor.info.now, reason="ended_by_admin"
    )
    actor.audit.record("sessions.ended", RESOURCE, record_id=user.id_user, details={"count": ended})
    return ended
