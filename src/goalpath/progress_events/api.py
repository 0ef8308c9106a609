"""HTTP endpoints of the progress events domain: /students/{id_student}/progress-events
and /progress-events/{id_progress_event}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from goalpath.auth.deps import app_settings
from goalpath.authz.deps import CurrentActor
from goalpath.config import Settings
from goalpath.kit.etag import set_etag
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.progress_events import service
from goalpath.progress_events.schemas import (
    MAX_ID,
    ProgressEvent,
    ProgressEventCount,
    ProgressEventInput,
    ProgressEventUpdate,
)

router = APIRouter(tags=["progress events"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_progress_event")]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag this change is based on; a stale one is refused with 412"),
]
_LIST_403 = "You may see this student but not their progress events, or your password expired"
_LIST_404 = "No such student, or outside your scope"
_ITEM_404 = "Absent, outside your scope, or sensitive and you may not read sensitive events"
_LIST_422 = "Invalid filter or cursor, or created_from after created_to"
AppSettings = Annotated[Settings, Depends(app_settings)]


def event_filters(
    id_goal: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only events logged against this goal")
    ] = None,
    created_from: Annotated[
        datetime | None,
        Query(description="Created at or after this ISO 8601 time (UTC if no offset is given)"),
    ] = None,
    created_to: Annotated[
        datetime | None,
        Query(description="Created at or before this ISO 8601 time (UTC if no offset is given)"),
    ] = None,
    is_sensitive: Annotated[
        bool | None,
        Query(
            description="true: sensitive events only; false: the others only. Sensitive "
            "events you may not read are never counted or listed"
        ),
    ] = None,
) -> service.EventFilters:
    return service.EventFilters(
        id_goal=id_goal,
        created_from=created_from,
        created_to=created_to,
        is_sensitive=is_sensitive,
    )


Filters = Annotated[service.EventFilters, Depends(event_filters)]


@router.get(
    "/students/{id_student}/progress-events",
    response_model=Page[ProgressEvent],
    responses=problem_responses(401, 403, 404, 422, s403=_LIST_403, s404=_LIST_404, s422=_LIST_422),
    summary="A student's progress events, newest first",
)
def list_progress_events(
    id_student: StudentId,
    actor: CurrentActor,
    filters: Filters,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[ProgressEvent]:
    items, next_cursor = service.list_events(actor, id_student, filters, page)
    return Page[ProgressEvent](
        items=[ProgressEvent.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.get(
    "/students/{id_student}/progress-events/count",
    response_model=ProgressEventCount,
    responses=problem_responses(401, 403, 404, 422, s403=_LIST_403, s404=_LIST_404, s422=_LIST_422),
    summary="How many of a student's progress events match the filters",
)
def count_progress_events(
    id_student: StudentId, actor: CurrentActor, filters: Filters
) -> ProgressEventCount:
    return ProgressEventCount(count=service.count_events(actor, id_student, filters))


@router.post(
    "/students/{id_student}/progress-events",
    status_code=201,
    response_model=ProgressEvent,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s403="No right to log events for this student, or a sensitive event without the "
        "right to read sensitive events",
        s404=_LIST_404,
        s409="The goal or the student was removed meanwhile",
        s422="Invalid input, or the goal is not one of this student's goals",
    ),
    summary="Log a progress event",
)
def create_progress_event(
    id_student: StudentId, body: ProgressEventInput, actor: CurrentActor, response: Response
) -> ProgressEvent:
    event = service.create_event(actor, id_student, body)
    set_etag(response, service.ETAG_KIND, event.id_progress_event, event.updated_at)
    return ProgressEvent.model_validate(event)


@router.get(
    "/progress-events/{id_progress_event}",
    response_model=ProgressEvent,
    responses=problem_responses(
        401, 403, 404, 422, s403="Your password expired; change it first", s404=_ITEM_404
    ),
    summary="One progress event, with its ETag (reading a sensitive one is audited)",
)
def get_progress_event(
    id_progress_event: EventId, actor: CurrentActor, response: Response
) -> ProgressEvent:
    event = service.get_event(actor, id_progress_event)
    set_etag(response, service.ETAG_KIND, event.id_progress_event, event.updated_at)
    return ProgressEvent.model_validate(event)


@router.patch(
    "/progress-events/{id_progress_event}",
    response_model=ProgressEvent,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        412,
        422,
        s403="You may read this event but not change it (by default only its author may), "
        "or you may not set or clear the sensitive mark",
        s404=_ITEM_404,
        s409="The goal was removed meanwhile",
        s422="Invalid input, or the goal is not one of this student's goals",
    ),
    summary="Change an event's content, goal or sensitive mark (marking it sensitive "
    "redrafts the drafts that may quote it and marks such final reports for review)",
)
def update_progress_event(
    id_progress_event: EventId,
    body: ProgressEventUpdate,
    actor: CurrentActor,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> ProgressEvent:
    event = service.update_event(actor, settings, id_progress_event, body, if_match)
    set_etag(response, service.ETAG_KIND, event.id_progress_event, event.updated_at)
    return ProgressEvent.model_validate(event)


@router.delete(
    "/progress-events/{id_progress_event}",
    status_code=204,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        s403="You may read this event but not delete it (by default only its author may)",
        s404=_ITEM_404,
    ),
    summary="Delete a progress event",
)
def delete_progress_event(id_progress_event: EventId, actor: CurrentActor) -> Response:
    service.delete_event(actor, id_progress_event)
    return Response(status_code=204)
