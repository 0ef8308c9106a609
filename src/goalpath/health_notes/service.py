"""Health and welfare notes: encrypted at rest, shown only to holders of
`health_note:read`, and every read on the audit trail (SPEC sections 2, 5 and 6).

A note's plaintext exists only in this module's answers: it is encrypted before it
reaches the session and decrypted only for notes the reader's scope already admitted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from goalpath.authz.actor import Actor
from goalpath.errors import (
    Conflict,
    Forbidden,
    GoalpathError,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.health_notes.schemas import MAX_ID, HealthNoteInput, HealthNoteUpdate
from goalpath.health_notes.schemas import HealthNote as HealthNoteOut
from goalpath.kit.pagination import PageRequest, decode_cursor, keyset_page
from goalpath.models import HealthNote

RESOURCE = "health_note"
_STALE = "The note changed since you read it; reload it and apply your change again."


class NoteUndecryptable(GoalpathError):
    """The stored note was encrypted under a key that is no longer configured: an
    operator removed a key before rotating (docs/operations.md). Not the client's fault,
    and retrying will not help until the key is restored."""

    status_code = 503
    title = "Health note unavailable"


def _plaintext(cipher: HealthNoteCipher, note: HealthNote) -> str | None:
    if note.content is None:
        return None
    try:
        return cipher.decrypt(note.content)
    except ValueError as error:
        raise NoteUndecryptable(
            "This health note cannot be decrypted with the configured keys. An "
            "administrator must restore the key it was written with."
        ) from error


def _out(note: HealthNote, content: str | None) -> HealthNoteOut:
    # Built field by field: validating the ORM object would copy the ciphertext out.
    return HealthNoteOut(
        id_health_note=note.id_health_note,
        id_student=note.id_student,
        id_user_created=note.id_user_created,
        content=content,
        created_at=note.created_at,
    )


def _require_notes_readable(actor: Actor, id_student: int) -> None:
    """404 when the student or the notes are out of the reader's scope. Without
    `health_note:read` the notes are hidden, not refused: a 403 would confirm there is
    something to hide (SPEC section 5). The denial is still on the audit trail."""
    try:
        actor.authz.require_on_student(RESOURCE, "read", id_student)
    except Forbidden:
        raise NotFound("Not found.") from None


def _check_cursor(page: PageRequest) -> None:
    """Refuse a cursor that is not an id this list could have issued: the pagination kit
    checks only its shape, and a huge or non-integer value would fail in the driver."""
    if not page.cursor:
        return
    try:
        (id_health_note,) = decode_cursor(page.cursor, 1)
    except TypeError:  # e.g. {"t": 5}, which the kit's decoder lets through
        id_health_note = None
    if type(id_health_note) is not int or not 1 <= id_health_note <= MAX_ID:
        raise ValidationFailed(
            "The cursor is not valid; start again from the first page.",
            errors=[{"field": "cursor", "message": "Not a cursor this list issued."}],
        )


def list_notes(
    actor: Actor, cipher: HealthNoteCipher, id_student: int, page: PageRequest
) -> tuple[list[HealthNoteOut], str | None]:
    _check_cursor(page)
    _require_notes_readable(actor, id_student)
    statement = actor.authz.scoped(
        select(HealthNote).where(HealthNote.id_student == id_student), RESOURCE
    )
    notes, next_cursor = keyset_page(
        actor.db, statement, [HealthNote.id_health_note.expression], page, descending=True
    )
    items = [_out(note, _plaintext(cipher, note)) for note in notes]
    # One row for the page rather than one per note: the ids say exactly what was shown.
    actor.audit.record(
        "read",
        RESOURCE,
        id_student=id_student,
        details={"id_health_note": [note.id_health_note for note in notes]},
    )
    return items, next_cursor


@dataclass(frozen=True)
class NoteVersion:
    """A note as this reader sees it, and the ETag of the stored version."""

    note: HealthNoteOut
    etag: str


def note_etag(note: HealthNote) -> str:
    """A note has no `updated_at` (the seed's table): its version is its ciphertext,
    which every rewrite changes (Fernet encrypts with a fresh IV). The digest says
    nothing about the text. Rotating the keys changes it too, so an edit begun before
    a rotation is refused as stale: safe, and rare."""
    stored = note.content or ""
    digest = hashlib.sha256(f"{RESOURCE}:{note.id_health_note}:{stored}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def _check_if_match(if_match: str | None, current: str) -> None:
    """As `kit.etag.check_if_match`, for a version that is not a time."""
    if if_match is None:
        return
    offered = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" not in offered and current not in offered:
        raise PreconditionFailed(_STALE)


def read_note(actor: Actor, cipher: HealthNoteCipher, id_health_note: int) -> NoteVersion:
    note = actor.authz.fetch(HealthNote, id_health_note, RESOURCE)
    content = _plaintext(cipher, note)
    actor.audit.record("read", RESOURCE, record_id=note.id_health_note, id_student=note.id_student)
    return NoteVersion(_out(note, content), note_etag(note))


def get_note(actor: Actor, cipher: HealthNoteCipher, id_health_note: int) -> HealthNoteOut:
    return read_note(actor, cipher, id_health_note).note


def student_of_note(actor: Actor, id_health_note: int) -> int:
    """The student of a note the user may read (404 otherwise); not a read on the
    trail: what follows records its own."""
    statement = actor.authz.scoped(
        select(HealthNote.id_student).where(HealthNote.id_health_note == id_health_note),
        RESOURCE,
    )
    id_student: int | None = actor.db.scalar(statement)
    if id_student is None:
        raise NotFound("Not found.")
    return id_student


def create_note(
    actor: Actor, cipher: HealthNoteCipher, id_student: int, body: HealthNoteInput
) -> HealthNoteOut:
    actor.authz.require_on_student(RESOURCE, "create", id_student)
    note = HealthNote(
        id_student=id_student,
        id_user_created=actor.id_user,
        content=cipher.encrypt(body.content),
        created_at=actor.info.now,
    )
    actor.db.add(note)
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict("The student was removed meanwhile; nothing was saved.") from error
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=note.id_health_note,
        id_student=id_student,
        details={"fields": ["content"]},
    )
    return _out(note, body.content)


def update_note(
    actor: Actor, cipher: HealthNoteCipher, id_health_note: int, body: HealthNoteUpdate
) -> HealthNoteOut:
    return edit_note(actor, cipher, id_health_note, body, None).note


def edit_note(
    actor: Actor,
    cipher: HealthNoteCipher,
    id_health_note: int,
    body: HealthNoteUpdate,
    if_match: str | None,
) -> NoteVersion:
    """Rewrite a note; with `if_match`, only the version it names (412 otherwise)."""
    note = actor.authz.fetch(HealthNote, id_health_note, RESOURCE, "update")
    _check_if_match(if_match, note_etag(note))
    current = _plaintext(cipher, note)
    content = body.content
    if content is None or content == current:
        return NoteVersion(_out(note, current), note_etag(note))
    stored = cipher.encrypt(content)
    # Written only over the version read above, so a rewrite that landed meanwhile is
    # not silently replaced.
    unchanged = (
        HealthNote.content.is_(None) if note.content is None else HealthNote.content == note.content
    )
    result = actor.db.execute(
        update(HealthNote)
        .where(HealthNote.id_health_note == id_health_note, unchanged)
        .values(content=stored)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise PreconditionFailed(_STALE)
    set_committed_value(note, "content", stored)
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=note.id_health_note,
        id_student=note.id_student,
        details={"fields": ["content"]},
    )
    return NoteVersion(_out(note, content), note_etag(note))


def delete_note(actor: Actor, id_health_note: int) -> None:
    note = actor.authz.fetch(HealthNote, id_health_note, RESOURCE, "delete")
    id_student = note.id_student
    actor.db.delete(note)
    actor.db.flush()
    actor.audit.record("delete", RESOURCE, record_id=id_health_note, id_student=id_student)
