"""The quick "log progress" form of the student page; with htmx it answers the timeline."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.progress_events import service as progress_events
from goalpath.progress_events.schemas import ProgressEventInput
from goalpath.students.pages import (
    STUDENTS_PATH,
    progress_context,
    student_page_response,
    student_path,
    tree_view,
    user_names,
)
from goalpath.web import forms
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
    render,
)

router = page_router()


_EVENT_FIELDS = {
    "content": FieldSpec("log-content", "What happened", "Describe the progress to log."),
    "id_goal": FieldSpec("log-goal", "Goal", "Choose a goal."),
    "is_sensitive": FieldSpec("log-sensitive", "Sensitive", "Tick the box or leave it empty."),
}


@router.post(STUDENTS_PATH + "/{id_student}/progress-events")
def log_progress(
    id_student: str,
    request: Request,
    actor: PageActor,
    content: FormText = "",
    id_goal: FormText = "",
    is_sensitive: FormText = "",
) -> Response:
    def build() -> Response:
        student_id = forms.path_id(id_student)
        values = {"content": content, "id_goal": id_goal, "is_sensitive": is_sensitive}

        def change() -> tuple[str, str]:
            body = forms.validated(
                ProgressEventInput,
                _EVENT_FIELDS,
                values,
                {
                    "content": forms.multiline(content),
                    "id_goal": forms.record_choice(id_goal, _EVENT_FIELDS["id_goal"]),
                    "is_sensitive": forms.checkbox(is_sensitive, _EVENT_FIELDS["is_sensitive"]),
                },
            )
            progress_events.create_event(actor, student_id, body)
            return "Progress logged.", student_path(student_id) + "#progress"

        def again(failed: FormState | None, message: str | None) -> Response:
            if not forms.is_htmx(request):
                return student_page_response(request, actor, student_id, failed)
            # The tree only titles the timeline and fills the form's goal choices here.
            tree = tree_view(actor, student_id, audited=False)
            progress = progress_context(actor, student_id, None)
            events = progress["events"] if progress is not None else []
            context = {
                "student": {"id_student": student_id},
                "goals": tree,
                "goal_titles": (
                    {goal.id_goal: goal.title for goal, _depth in tree["tree"].order}
                    if tree
                    else {}
                ),
                "progress": progress,
                "authors": user_names(actor, (event.id_user_created for event in events)),
                "failed": failed,
                "message": message,
                "fragment": True,
            }
            return render(request, "staff/progress_fragment.html", context)

        return forms.submit(
            request,
            actor.db,
            state=FormState(values, form="log"),
            fields=_EVENT_FIELDS,
            change=change,
            again=again,
        )

    return build()
