"""Progress events: the running log against a student's goals (SPEC sections 5 and 7).

Every read goes through `authz.readable("progress_event")`, which already leaves out
sensitive events for users without `progress_event:read_sensitive` on the student: they
are absent from lists, counts and filters, and 404 by id. Seeing, creating and flagging
a sensitive event all need that right; every read of one is on the audit trail. Marking
an event sensitive also takes it out of the reports that may quote it, in the same
transaction (progress_reports.reclassification).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from goalpath.authz.actor import Actor
from goalpath.config import Settings
from goalpath.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from goalpath.kit.etag import check_if_match
from goalpath.kit.pagination import PageRequest, decode_cursor, keyset_page
from goalpath.models import Goal, ProgressEvent
from goalpath.progress_events.schemas import MAX_ID, ProgressEventInput, ProgressEventUpdate
from goalpath.progress_reports.reclassification import MarkedEvent, withdraw_from_reports

RESOURCE = "progress_event"
ETAG_KIND = "progress_event"
_GOAL_ERROR = {"field": "id_goal", "message": "Must be one of this student's goals."}


@dataclass(frozen=True)
class EventFilters:
    id_goal: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    is_sensitive: bool | None = None


def _utc(value: datetime, field: str) -> datetime:
    """A filter bound in UTC; a time without an offset is taken as UTC."""
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "The time is out of range.",
            errors=[{"field": field, "message": "Out of the supported range of times."}],
        ) from None


def _not_sensitive() -> ColumnElement[bool]:
    return or_(ProgressEvent.is_sensitive.is_(None), ProgressEvent.is_sensitive.is_(False))


def _filtered(actor: Actor, id_student: int, filters: EventFilters) -> Select[Any]:
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    created_from = filters.created_from and _utc(filters.created_from, "created_from")
    created_to = filters.created_to and _utc(filters.created_to, "created_to")
    if created_from and created_to and created_from > created_to:
        raise ValidationFailed(
            "created_from is after created_to.",
            errors=[{"field": "created_from", "message": "Must not be after created_to."}],
        )
    statement = actor.authz.scoped(
        select(ProgressEvent).where(ProgressEvent.id_student == id_student), RESOURCE
    )
    if filters.id_goal is not None:
        statement = statement.where(ProgressEvent.id_goal == filters.id_goal)
    if created_from is not None:
        statement = statement.where(ProgressEvent.created_at >= created_from)
    if created_to is not None:
        statement = statement.where(ProgressEvent.created_at <= created_to)
    if filters.is_sensitive is True:
        statement = statement.where(ProgressEvent.is_sensitive.is_(True))
    elif filters.is_sensitive is False:
        statement = statement.where(_not_sensitive())
    return statement


def _after_cursor(cursor: str) -> ColumnElement[bool]:
    """Rows after the cursor in (created_at, id_progress_event) descending order.

    Written here rather than left to `keyset_page`, which binds the cursor's time as an
    aware value of the generic DateTime type: PostgreSQL then compares the (naive UTC)
    column in the session's time zone, and pages skip or repeat rows on a server whose
    TimeZone is not UTC. Bound with the column's own type, the time is compared as UTC
    on every backend. The cursor is checked first: a forged value of the wrong type or
    range is a 422, never a database error."""
    try:
        created_at, id_progress_event = decode_cursor(cursor, 2)
    except TypeError:  # e.g. {"t": 5}, which the kit's decoder lets through
        created_at = id_progress_event = None
    valid = (
        isinstance(created_at, datetime)
        and created_at.tzinfo is not None
        and type(id_progress_event) is int
        and 1 <= id_progress_event <= MAX_ID
    )
    if valid:
        try:
            created_at = created_at.astimezone(UTC)
        except OverflowError:
            valid = False
    if not valid:
        raise ValidationFailed(
            "The cursor is not valid; start again from the first page.",
            errors=[{"field": "cursor", "message": "Not a cursor this list issued."}],
        )
    return tuple_(ProgressEvent.created_at, ProgressEvent.id_progress_event) < tuple_(
        literal(created_at, ProgressEvent.created_at.type),
        literal(id_progress_event, ProgressEvent.id_progress_event.type),
    )


def _audit_sensitive_reads(actor: Actor, id_student: int, events: list[ProgressEvent]) -> None:
    """A page that shows sensitive events is a read of them: one row for the page, naming
    the sensitive events it showed."""
    sensitive = [event.id_progress_event for event in events if event.is_sensitive]
    if sensitive:
        actor.audit.record(
            "read",
            RESOURCE,
            id_student=id_student,
            details={"id_progress_event": sensitive, "is_sensitive": True},
        )


def list_events(
    actor: Actor, id_student: int, filters: EventFilters, page: PageRequest
) -> tuple[list[ProgressEvent], str | None]:
    statement = _filtered(actor, id_student, filters)
    if page.cursor:
        statement = statement.where(_after_cursor(page.cursor))
    # The kit orders, limits and issues the next cursor; the cursor itself is applied
    # above (see _after_cursor).
    events, next_cursor = keyset_page(
        actor.db,
        statement,
        [ProgressEvent.created_at.expression, ProgressEvent.id_progress_event.expression],
        PageRequest(limit=page.limit, cursor=None),
        descending=True,
    )
    _audit_sensitive_reads(actor, id_student, events)
    return events, next_cursor


def count_events(actor: Actor, id_student: int, filters: EventFilters) -> int:
    statement = _filtered(actor, id_student, filters)
    counted = statement.with_only_columns(func.count(), maintain_column_froms=True)
    return int(actor.db.scalar(counted) or 0)


def get_event(actor: Actor, id_progress_event: int) -> ProgressEvent:
    event = actor.authz.fetch(ProgressEvent, id_progress_event, RESOURCE)
    if event.is_sensitive:
        actor.audit.record(
            "read", RESOURCE, record_id=id_progress_event, id_student=event.id_student
        )
    return event


def _require_goal_of_student(actor: Actor, id_goal: int, id_student: int) -> None:
    """422 unless the goal is one of the student's goals that the user can read: the
    same answer for an unknown id and another student's goal, so nothing leaks."""
    statement = actor.authz.scoped(
        select(Goal.id_goal).where(Goal.id_goal == id_goal, Goal.id_student == id_student),
        "goal",
    )
    if actor.db.scalar(statement) is None:
        raise ValidationFailed(
            "The goal must be one of this student's goals; an event cannot be logged "
            "against another student's goal.",
            errors=[_GOAL_ERROR],
        )


def _require_sensitive_right(actor: Actor, event: ProgressEvent) -> None:
    assert event.id_student is not None
    if not actor.authz.can_on_student(RESOURCE, "read_sensitive", event.id_student):
        actor.authz.deny(
            "update", RESOURCE, event.id_progress_event, event.id_student, "sensitive_flag"
        )
        raise Forbidden(
            "Marking an event sensitive, or clearing the mark, needs the right to read "
            "sensitive events of this student."
        )


def create_event(actor: Actor, id_student: int, body: ProgressEventInput) -> ProgressEvent:
    actor.authz.require_on_student(RESOURCE, "create", id_student, sensitive=body.is_sensitive)
    if body.id_goal is not None:
        _require_goal_of_student(actor, body.id_goal, id_student)
    now = actor.info.now
    event = ProgressEvent(
        id_student=id_student,
        id_goal=body.id_goal,
        id_user_created=actor.id_user,
        content=body.content,
        is_sensitive=body.is_sensitive,
        created_at=now,
        updated_at=now,
    )
    actor.db.add(event)
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict(
            "The goal or the student was removed meanwhile; nothing was saved."
        ) from error
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=event.id_progress_event,
        id_student=id_student,
        details={"fields": sorted(body.model_dump(exclude_unset=True))},
    )
    return event


def _stamp(now: datetime, previous: datetime | None) -> datetime:
    """Now, but always after the previous value: two changes within one clock tick still
    give the event a new ETag."""
    if previous is not None and now <= previous:
        return previous + timedelta(microseconds=1)
    return now


@dataclass(frozen=True)
class EventChange:
    """An event after a change, and the names of the fields that changed (none when the
    change asked for what was there already)."""

    event: ProgressEvent
    changed: list[str]


def update_event(
    actor: Actor,
    settings: Settings,
    id_progress_event: int,
    body: ProgressEventUpdate,
    if_match: str | None,
) -> ProgressEvent:
    return change_event(actor, settings, id_progress_event, body, if_match).event


def student_of_event(actor: Actor, id_progress_event: int) -> int:
    """The student of an event the user may read (404 otherwise, as in the API); not a
    read on the trail: the change or the page that follows records its own."""
    statement = actor.authz.scoped(
        select(ProgressEvent.id_student).where(
            ProgressEvent.id_progress_event == id_progress_event
        ),
        RESOURCE,
    )
    id_student: int | None = actor.db.scalar(statement)
    if id_student is None:
        raise NotFound("Not found.")
    return id_student


def change_event(
    actor: Actor,
    settings: Settings,
    id_progress_event: int,
    body: ProgressEventUpdate,
    if_match: str | None,
) -> EventChange:
    event = actor.authz.fetch(ProgressEvent, id_progress_event, RESOURCE, "update")
    check_if_match(if_match, ETAG_KIND, event.id_progress_event, event.updated_at)
    changes = body.model_dump(exclude_unset=True)
    # Where and how reports may have quoted it, should this change mark it sensitive.
    goal_before, content_before = event.id_goal, event.content
    current = {
        "content": event.content,
        "id_goal": event.id_goal,
        "is_sensitive": bool(event.is_sensitive),
    }
    changed = sorted(name for name, value in changes.items() if current[name] != value)
    if not changed:
        return EventChange(event, [])
    assert event.id_student is not None
    if "is_sensitive" in changed:
        _require_sensitive_right(actor, event)
    if "id_goal" in changed and changes["id_goal"] is not None:
        _require_goal_of_student(actor, changes["id_goal"], event.id_student)
    previous = event.updated_at
    values: dict[str, Any] = {name: changes[name] for name in changed}
    values["updated_at"] = _stamp(actor.info.now, previous)
    # Written only if the row is still the version this request read, so a change that
    # landed after the If-Match check is not silently overwritten.
    unchanged = (
        ProgressEvent.updated_at.is_(None)
        if previous is None
        else ProgressEvent.updated_at == previous
    )
    try:
        result = actor.db.execute(
            update(ProgressEvent)
            .where(ProgressEvent.id_progress_event == id_progress_event, unchanged)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError as error:
        raise Conflict("The goal was removed meanwhile; reload and retry.") from error
    if getattr(result, "rowcount", 1) != 1:
        raise PreconditionFailed(
            "The event changed while this request was being handled; reload it and apply "
            "your change again."
        )
    for name, value in values.items():
        set_committed_value(event, name, value)
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_progress_event,
        id_student=event.id_student,
        details={"fields": changed},
    )
    # Only the change to sensitive matters to reports: a draft never quotes a sensitive
    # event, so editing one, or clearing the mark, leaves every report as it is.
    if "is_sensitive" in changed and changes["is_sensitive"] and event.created_at is not None:
        withdraw_from_reports(
            actor,
            settings,
            MarkedEvent(
                id_progress_event=id_progress_event,
                id_student=event.id_student,
                id_goal=goal_before,
                created_at=event.created_at,
                content=content_before,
            ),
        )
    return EventChange(event, changed)


def delete_event(actor: Actor, id_progress_event: int) -> None:
    event = actor.authz.fetch(ProgressEvent, id_progress_event, RESOURCE, "delete")
    id_student = event.id_student
    actor.db.delete(event)
    actor.db.flush()
    actor.audit.record("delete", RESOURCE, record_id=id_progress_event, id_student=id_student)
