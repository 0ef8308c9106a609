"""HTTP endpoints of the health notes domain: /students/{id_student}/health-notes and
/health-notes/{id_health_note}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from goalpath.authz.deps import CurrentActor
from goalpath.health_notes import service
from goalpath.health_notes.crypto import HealthNoteCipher, note_cipher
from goalpath.health_notes.schemas import MAX_ID, HealthNote, HealthNoteInput, HealthNoteUpdate
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses

router = APIRouter(tags=["health notes"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]
NoteId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_health_note")]
_HIDDEN = "Absent, outside your scope, or you may not read health notes"
_UNDECRYPTABLE = "A note cannot be decrypted with the configured keys"
_EXPIRED = "The password has expired and must be changed first"


Cipher = Annotated[HealthNoteCipher, Depends(note_cipher)]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag this change is based on; a stale one is refused with 412"),
]


@router.get(
    "/students/{id_student}/health-notes",
    response_model=Page[HealthNote],
    responses=problem_responses(
        401, 403, 404, 422, 503, s403=_EXPIRED, s404=_HIDDEN, s503=_UNDECRYPTABLE
    ),
    summary="A student's health notes, newest first (the read is recorded on the audit trail)",
)
def list_health_notes(
    id_student: StudentId,
    actor: CurrentActor,
    cipher: Cipher,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[HealthNote]:
    items, next_cursor = service.list_notes(actor, cipher, id_student, page)
    return Page[HealthNote](items=items, next_cursor=next_cursor)


@router.post(
    "/students/{id_student}/health-notes",
    status_code=201,
    response_model=HealthNote,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s403="You may read this student but not write health notes for them",
        s409="The student was removed meanwhile",
    ),
    summary="Write a health note (stored encrypted)",
)
def create_health_note(
    id_student: StudentId, body: HealthNoteInput, actor: CurrentActor, cipher: Cipher
) -> HealthNote:
    return service.create_note(actor, cipher, id_student, body)


@router.get(
    "/health-notes/{id_health_note}",
    response_model=HealthNote,
    responses=problem_responses(
        401, 403, 404, 422, 503, s403=_EXPIRED, s404=_HIDDEN, s503=_UNDECRYPTABLE
    ),
    summary="One health note, with its ETag (the read is recorded on the audit trail)",
)
def get_health_note(
    id_health_note: NoteId, actor: CurrentActor, cipher: Cipher, response: Response
) -> HealthNote:
    version = service.read_note(actor, cipher, id_health_note)
    response.headers["ETag"] = version.etag
    return version.note


@router.patch(
    "/health-notes/{id_health_note}",
    response_model=HealthNote,
    responses=problem_responses(
        401,
        403,
        404,
        412,
        422,
        503,
        s403="You may read this note but not change it (by default only its author may)",
        s404=_HIDDEN,
        s503=_UNDECRYPTABLE,
    ),
    summary="Rewrite a health note's content (with If-Match, only the version it names)",
)
def update_health_note(
    id_health_note: NoteId,
    body: HealthNoteUpdate,
    actor: CurrentActor,
    cipher: Cipher,
    response: Response,
    if_match: IfMatch = None,
) -> HealthNote:
    version = service.edit_note(actor, cipher, id_health_note, body, if_match)
    response.headers["ETag"] = version.etag
    return version.note


@router.delete(
    "/health-notes/{id_health_note}",
    status_code=204,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        s403="You may read this note but not delete it (by default only its author may)",
        s404=_HIDDEN,
    ),
    summary="Delete a health note",
)
def delete_health_note(id_health_note: NoteId, actor: CurrentActor) -> Response:
    service.delete_note(actor, id_health_note)
    return Response(status_code=204)
