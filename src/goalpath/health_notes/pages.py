"""Health notes in the pages: the student page's form for a new note (SPEC section 2)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.health_notes import service as health_notes
from goalpath.health_notes.crypto import note_cipher
from goalpath.health_notes.schemas import HealthNoteInput
from goalpath.students.pages import (
    STUDENTS_PATH,
    student_page_response,
    student_path,
)
from goalpath.web import forms
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
)

router = page_router()


_NOTE_FIELDS = {"content": FieldSpec("note-content", "Note", "Write the note.")}


@router.post(STUDENTS_PATH + "/{id_student}/health-notes")
def add_health_note(
    id_student: str, request: Request, actor: PageActor, content: FormText = ""
) -> Response:
    def build() -> Response:
        student_id = forms.path_id(id_student)
        values = {"content": content}

        def change() -> tuple[str, str]:
            body = forms.validated(
                HealthNoteInput, _NOTE_FIELDS, values, {"content": forms.multiline(content)}
            )
            health_notes.create_note(actor, note_cipher(request), student_id, body)
            return "Health note added.", student_path(student_id) + "#health"

        return forms.submit(
            request,
            actor.db,
            state=FormState(values, form="note"),
            fields=_NOTE_FIELDS,
            change=change,
            again=lambda failed, _message: student_page_response(
                request, actor, student_id, failed
            ),
        )

    return build()
