"""Health notes in the pages: the student page's form for a new note, and the pages to
correct a note: rewrite it or delete it (SPEC sections 2 and 14). A health note has no
sensitive mark: every note is restricted (docs/decisions.md).

The changes go through the API's service (`edit_note`, `delete_note`): the same rights,
the same audit rows, and the same refusal of a rewrite based on a stale version."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.health_notes import service as health_notes
from goalpath.health_notes.crypto import note_cipher
from goalpath.health_notes.schemas import HealthNoteInput, HealthNoteUpdate
from goalpath.models import HealthNote
from goalpath.students.pages import student_page_response
from goalpath.web import forms
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
)
from goalpath.web.records import STUDENTS_PATH, RecordKind, delete_record, record_page, student_path

router = page_router()

NOTE_PATH = "/health-notes/{id_health_note}"
NOTE = RecordKind("health note", health_notes.RESOURCE, HealthNote.id_health_note, "#health")

_NOTE_FIELDS = {"content": FieldSpec("note-content", "Note", "Write the note.")}
_EDIT_FIELDS = {"content": FieldSpec("record-content", "Note", "Write the note.")}


@router.post(STUDENTS_PATH + "/{id_student}/health-notes")
def add_health_note(
    id_student: str, request: Request, actor: PageActor, content: FormText = ""
) -> Response:
    student_id = forms.path_id(id_student)
    values = {"content": content}

    def change() -> tuple[str, str]:
        body = forms.validated(
            HealthNoteInput, _NOTE_FIELDS, values, {"content": forms.multiline(content)}
        )
        health_notes.create_note(actor, note_cipher(request), student_id, body)
        return "Health note added.", student_path(student_id) + NOTE.section

    return forms.submit(
        request,
        actor.db,
        FormState(values, form="note"),
        _NOTE_FIELDS,
        change,
        forms.showing(student_page_response, request, actor, student_id),
    )


def _edit_page(
    request: Request, actor: Actor, id_health_note: int, failed: FormState | None = None
) -> Response:
    # Showing the note is a read of it, on the trail.
    version = health_notes.read_note(actor, note_cipher(request), id_health_note)
    return record_page(
        request,
        actor,
        NOTE,
        version.note,
        "staff/record_edit.html",
        failed,
        content_label="Note",
        goal_choices=None,
        can_flag=False,
        etag=version.etag,
        notice="Health notes are always restricted: only staff whose role allows health "
        "notes see them, so a note has no sensitive mark. It is stored encrypted.",
    )


@router.get(NOTE_PATH + "/edit")
def edit_note_page(id_health_note: str, request: Request, actor: PageActor) -> Response:
    return _edit_page(request, actor, forms.path_id(id_health_note))


@router.post(NOTE_PATH + "/edit")
def edit_note(
    id_health_note: str,
    request: Request,
    actor: PageActor,
    content: FormText = "",
    etag: FormText = "",
) -> Response:
    note_id = forms.path_id(id_health_note)
    student_id = health_notes.student_of_note(actor, note_id)
    values = {"content": content}

    def change() -> tuple[str, str]:
        body = forms.validated(
            HealthNoteUpdate, _EDIT_FIELDS, values, {"content": forms.multiline(content)}
        )
        health_notes.edit_note(actor, note_cipher(request), note_id, body, etag[:200] or None)
        return "Health note saved.", student_path(student_id) + NOTE.section

    return forms.submit(
        request,
        actor.db,
        FormState(values, form="note-edit"),
        _EDIT_FIELDS,
        change,
        forms.showing(_edit_page, request, actor, note_id),
    )


@router.get(NOTE_PATH + "/delete")
def delete_note_page(id_health_note: str, request: Request, actor: PageActor) -> Response:
    version = health_notes.read_note(actor, note_cipher(request), forms.path_id(id_health_note))
    return record_page(
        request, actor, NOTE, version.note, "staff/record_delete.html", deleting=True
    )


@router.post(NOTE_PATH + "/delete")
def delete_note(id_health_note: str, request: Request, actor: PageActor) -> Response:
    note_id = forms.path_id(id_health_note)
    student_id = health_notes.student_of_note(actor, note_id)
    return delete_record(
        request, NOTE, student_id, lambda: health_notes.delete_note(actor, note_id)
    )
