"""HTTP endpoints of the audit trail: read and export only.

The trail is append-only (SPEC section 6), so this router has GET routes and nothing
else; tests/audit asserts that no route of the application writes to /audit-events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import ColumnElement

from goalpath.audit.queries import (
    EXPORT_COLUMNS,
    MAX_ID,
    AuditFilters,
    accessors_of_student,
    as_utc,
    audit_events,
    check_id_cursor,
    export_rows,
)
from goalpath.audit.schemas import AuditEventOut, StudentAccessor, StudentAccessors
from goalpath.authz.actor import Actor
from goalpath.authz.deps import CurrentActor
from goalpath.errors import ValidationFailed
from goalpath.kit.pagination import Page, PageRequest, keyset_page, page_request
from goalpath.kit.problems import problem_responses
from goalpath.kit.spreadsheet import safe_cell
from goalpath.models import AuditEvent

router = APIRouter(prefix="/audit-events", tags=["audit"])

RESOURCE = "audit_event"
MAX_EXPORT_ROWS = 100_000
# Actions, resources and outcomes are identifiers such as "login.failed"; the pattern
# also keeps bytes PostgreSQL refuses in text (NUL) away from the query.
NAME_PATTERN = r"^[A-Za-z0-9_.:-]+$"
LIST_RESPONSES = problem_responses(401, 403, 422, s403="The user may not read the audit trail")


def audit_filters(
    id_student: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    id_user: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=50, pattern=NAME_PATTERN)] = None,
    resource: Annotated[str | None, Query(max_length=50, pattern=NAME_PATTERN)] = None,
    outcome: Annotated[
        str | None,
        Query(max_length=20, pattern=NAME_PATTERN, description="allowed, denied or failed"),
    ] = None,
    occurred_from: Annotated[
        datetime | None,
        Query(description="ISO 8601 date-time, included; without an offset it is UTC"),
    ] = None,
    occurred_to: Annotated[
        datetime | None,
        Query(description="ISO 8601 date-time, included; without an offset it is UTC"),
    ] = None,
) -> AuditFilters:
    occurred_from = occurred_from and as_utc(occurred_from, "occurred_from")
    occurred_to = occurred_to and as_utc(occurred_to, "occurred_to")
    if occurred_from and occurred_to and occurred_from > occurred_to:
        raise ValidationFailed(
            "occurred_from is after occurred_to.",
            errors=[{"field": "occurred_to", "message": "Must not be before occurred_from."}],
        )
    return AuditFilters(
        id_student=id_student,
        id_user=id_user,
        action=action,
        resource=resource,
        outcome=outcome,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]


def _readable(actor: Actor) -> ColumnElement[bool]:
    actor.authz.require(RESOURCE, "read")
    return actor.authz.readable(RESOURCE)


@router.get(
    "",
    response_model=Page[AuditEventOut],
    responses=LIST_RESPONSES,
    summary="The audit trail, newest first",
)
def list_audit_events(
    actor: CurrentActor,
    filters: Filters,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[AuditEventOut]:
    statement = audit_events(_readable(actor), filters)
    check_id_cursor(page)
    rows, next_cursor = keyset_page(
        actor.db, statement, [AuditEvent.id_audit_event.expression], page, descending=True
    )
    return Page[AuditEventOut](
        items=[AuditEventOut.model_validate(row) for row in rows], next_cursor=next_cursor
    )


def _csv(rows: Sequence[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The matching rows, newest first"},
        **problem_responses(
            401, 403, 422, s422=f"Invalid filters, or more than {MAX_EXPORT_ROWS} rows match"
        ),
    },
    summary="Export the audit trail as CSV (the export is itself audited)",
)
def export_audit_events(actor: CurrentActor, filters: Filters) -> Response:
    rows = export_rows(
        actor.db,
        _readable(actor),
        filters,
        limit=MAX_EXPORT_ROWS,
        user_visible=actor.authz.readable("user"),
        student_visible=actor.authz.readable("student"),
    )
    if len(rows) > MAX_EXPORT_ROWS:
        # A record of access is useful only when complete: refuse rather than cut it.
        raise ValidationFailed(
            f"More than {MAX_EXPORT_ROWS} rows match; narrow the date range and export in parts.",
            errors=[{"field": "occurred_from", "message": "Narrow the date range."}],
        )
    actor.audit.record(
        "export",
        RESOURCE,
        id_student=filters.id_student,
        details={"filters": filters.given(), "rows": len(rows)},
    )
    stamp = actor.info.now.strftime("%Y%m%dT%H%M%SZ")
    return Response(
        content=_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-events-{stamp}.csv"'},
    )


@router.get(
    "/accessors",
    response_model=StudentAccessors,
    responses=LIST_RESPONSES,
    summary="Who has accessed a student's records, with counts",
)
def student_accessors(
    actor: CurrentActor,
    id_student: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> StudentAccessors:
    accessors = accessors_of_student(actor.db, id_student, _readable(actor))
    return StudentAccessors(
        id_student=id_student,
        items=[StudentAccessor.model_validate(accessor) for accessor in accessors],
    )


@router.get(
    "/{id_audit_event}",
    response_model=AuditEventOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_audit_event(
    id_audit_event: Annotated[int, Path(ge=1, le=MAX_ID)], actor: CurrentActor
) -> AuditEventOut:
    actor.authz.require(RESOURCE, "read")
    event = actor.authz.fetch(AuditEvent, id_audit_event, RESOURCE)
    return AuditEventOut.model_validate(event)
