"""Reading the audit trail (SPEC section 6): lists, the CSV export and "who has seen
this student's records", each one query filtered in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, null, select
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED
from goalpath.errors import ValidationFailed
from goalpath.kit.pagination import PageRequest, decode_cursor
from goalpath.models import AuditEvent, Student, User

EXPORT_COLUMNS = (
    "id_audit_event",
    "occurred_at",
    "id_user",
    "user_name",
    "user_email",
    "ip",
    "action",
    "resource",
    "record_id",
    "id_student",
    "student_identifier",
    "outcome",
    "details",
)


MAX_ID = 2**31 - 1


def check_id_cursor(page: PageRequest) -> None:
    """The trail's cursors carry one integer id. decode_cursor also lets strings and
    numbers of any size through, which PostgreSQL refuses against an integer column
    (a 500), so anything but an id in range is refused here as a bad cursor."""
    if page.cursor is None:
        return
    (value,) = decode_cursor(page.cursor, 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise ValidationFailed(
            "The cursor is not valid; start again from the first page.",
            errors=[{"field": "cursor", "message": "Not a cursor this server issued."}],
        )


def as_utc(moment: datetime, field: str) -> datetime:
    """A time without an offset is taken as UTC, the trail's own clock."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 has no UTC equivalent Python can hold.
        raise ValidationFailed(
            "The time is out of range.",
            errors=[{"field": field, "message": "Out of the supported range of times."}],
        ) from None


@dataclass(frozen=True)
class AuditFilters:
    """Filters of the list and the export; the times are aware UTC (see `as_utc`)."""

    id_student: int | None = None
    id_user: int | None = None
    action: str | None = None
    resource: str | None = None
    outcome: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.id_student is not None:
            conditions.append(AuditEvent.id_student == self.id_student)
        if self.id_user is not None:
            conditions.append(AuditEvent.id_user == self.id_user)
        if self.action is not None:
            conditions.append(AuditEvent.action == self.action)
        if self.resource is not None:
            conditions.append(AuditEvent.resource == self.resource)
        if self.outcome is not None:
            conditions.append(AuditEvent.outcome == self.outcome)
        if self.occurred_from is not None:
            conditions.append(AuditEvent.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            conditions.append(AuditEvent.occurred_at <= self.occurred_to)
        return conditions

    def given(self) -> dict[str, Any]:
        """The filters a request used, for the export's own audit row."""
        return {name: value for name, value in asdict(self).items() if value is not None}


def audit_events(readable: ColumnElement[bool], filters: AuditFilters) -> Select[Any]:
    """The rows a reader may see (`readable` is their audit_event read condition)."""
    return select(AuditEvent).where(readable, *filters.conditions())


def export_rows(
    session: Session,
    readable: ColumnElement[bool],
    filters: AuditFilters,
    *,
    limit: int,
    user_visible: ColumnElement[bool],
    student_visible: ColumnElement[bool],
) -> Sequence[Any]:
    """Newest first, plain column tuples (no ORM objects for up to `limit` rows); one
    row more than `limit` is read so the caller can tell the export would be cut.

    Each row names its person and student beside their ids, where the reader may read
    that account (`user_visible`) or student (`student_visible`); else the name is
    empty, as on the page."""
    named = {
        "user_name": case((user_visible, User.name), else_=null()),
        "user_email": case((user_visible, User.email), else_=null()),
        "student_identifier": case((student_visible, Student.identifier), else_=null()),
    }
    columns = [
        named[name].label(name) if name in named else getattr(AuditEvent, name)
        for name in EXPORT_COLUMNS
    ]
    statement = (
        select(*columns)
        .select_from(AuditEvent)
        .outerjoin(User, User.id_user == AuditEvent.id_user)
        .outerjoin(Student, Student.id_student == AuditEvent.id_student)
        .where(readable, *filters.conditions())
        .order_by(AuditEvent.id_audit_event.desc())
        .limit(limit + 1)
    )
    return session.execute(statement).all()


@dataclass(frozen=True)
class Accessor:
    id_user: int | None
    name: str | None
    email: str | None
    events: int
    denied: int
    first_occurred_at: datetime
    last_occurred_at: datetime


def accessors_of_student(
    session: Session, id_student: int, readable: ColumnElement[bool] | None = None
) -> list[Accessor]:
    """Who has touched a student's records, with how often and when: one grouped query
    over the trail joined to the user table, most recent first.

    The join is outer so that an access by an account that no longer exists is still
    counted (the trail has no foreign keys on purpose)."""
    last = func.max(AuditEvent.occurred_at)
    statement = (
        select(
            AuditEvent.id_user,
            User.name,
            User.email,
            func.count(AuditEvent.id_audit_event),
            func.sum(case((AuditEvent.outcome == DENIED, 1), else_=0)),
            func.min(AuditEvent.occurred_at),
            last,
        )
        .select_from(AuditEvent)
        .outerjoin(User, User.id_user == AuditEvent.id_user)
        .where(AuditEvent.id_student == id_student)
        .group_by(AuditEvent.id_user, User.name, User.email)
        .order_by(last.desc(), AuditEvent.id_user)
    )
    if readable is not None:
        statement = statement.where(readable)
    return [
        Accessor(
            id_user=id_user,
            name=name,
            email=email,
            events=int(events),
            denied=int(denied or 0),
            first_occurred_at=first,
            last_occurred_at=latest,
        )
        for id_user, name, email, events, denied, first, latest in session.execute(statement)
    ]
