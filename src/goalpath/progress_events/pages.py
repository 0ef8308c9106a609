"""Progress events in the pages: the quick "log progress" form of the student page (with
htmx it answers the timeline), and the pages to correct an event: edit it, move it to
another goal, flag or unflag it sensitive, delete it (SPEC section 14).

Every change goes through the API's service (`change_event`, `delete_event`), so the
pages and the API decide alike: who may change what, the sensitive right, the ETag of
the version the form was shown, the reports withdrawn when an event becomes sensitive,
and the audit trail."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.goals import service as goals
from goalpath.goals.tree import build_tree
from goalpath.kit.etag import etag_for
from goalpath.models import ProgressEvent
from goalpath.progress_events import service as progress_events
from goalpath.progress_events.schemas import ProgressEventInput, ProgressEventUpdate
from goalpath.students.pages import progress_context, student_page_response, tree_view
from goalpath.web import forms
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
    render,
)
from goalpath.web.records import (
    STUDENTS_PATH,
    RecordKind,
    delete_record,
    record_page,
    student_path,
    user_names,
)

router = page_router()

EVENT_PATH = "/progress-events/{id_progress_event}"
EVENT = RecordKind(
    "progress note", progress_events.RESOURCE, ProgressEvent.id_progress_event, "#progress"
)

_EVENT_FIELDS = {
    "content": FieldSpec("log-content", "What happened", "Describe the progress to log."),
    "id_goal": FieldSpec("log-goal", "Goal", "Choose a goal."),
    "is_sensitive": FieldSpec("log-sensitive", "Sensitive", "Tick the box or leave it empty."),
}
_EDIT_FIELDS = {
    "content": FieldSpec("record-content", "What happened", "Describe the progress."),
    "id_goal": FieldSpec("record-goal", "Goal", "Choose a goal."),
    "is_sensitive": FieldSpec("record-sensitive", "Sensitive", "Tick the box or leave it empty."),
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
    student_id = forms.path_id(id_student)
    values = {"content": content, "id_goal": id_goal, "is_sensitive": is_sensitive}
    # The goal logged against, for the form to start on next time.
    logged: list[int | None] = [None]

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
        logged[0] = body.id_goal
        kept = forms.href(student_path(student_id), goal=str(body.id_goal or ""))
        return "Progress logged.", kept + "#progress"

    def again(failed: FormState | None, message: str | None) -> Response:
        if not forms.is_htmx(request):
            return student_page_response(request, actor, student_id, failed)
        # The tree only titles the timeline and fills the form's goal choices here.
        tree = tree_view(actor, student_id, audited=False)
        progress = progress_context(actor, student_id, None, log_goal=logged[0])
        events = progress["events"] if progress is not None else []
        context = {
            "student": {"id_student": student_id},
            "goals": tree,
            "goal_titles": (
                {goal.id_goal: goal.title for goal, _depth in tree["tree"].order} if tree else {}
            ),
            "progress": progress,
            "authors": user_names(actor, (event.id_user_created for event in events)),
            "failed": failed,
            "message": message,
            "fragment": True,
        }
        return render(request, "staff/progress_fragment.html", context)

    return forms.submit(
        request, actor.db, FormState(values, form="log"), _EVENT_FIELDS, change, again
    )


def _edit_page(
    request: Request, actor: Actor, id_progress_event: int, failed: FormState | None = None
) -> Response:
    # Showing the event is a read of it (on the trail when it is sensitive).
    event = progress_events.get_event(actor, id_progress_event)
    assert event.id_student is not None
    reads_goals = actor.authz.can_on_student("goal", "read", event.id_student)
    choices = (
        build_tree(goals.goal_tree(actor, event.id_student, audited=False)).choices()
        if reads_goals
        else None
    )
    return record_page(
        request,
        actor,
        EVENT,
        event,
        "staff/record_edit.html",
        failed,
        content_label="What happened",
        goal_choices=choices,
        can_flag=actor.authz.can_on_student(
            progress_events.RESOURCE, "read_sensitive", event.id_student
        ),
        etag=etag_for(progress_events.ETAG_KIND, event.id_progress_event, event.updated_at),
        notice=None,
    )


@router.get(EVENT_PATH + "/edit")
def edit_event_page(id_progress_event: str, request: Request, actor: PageActor) -> Response:
    return _edit_page(request, actor, forms.path_id(id_progress_event))


def _saved_message(change: progress_events.EventChange) -> str:
    if not change.changed:
        return "Nothing was changed."
    if "is_sensitive" not in change.changed:
        return "Progress note saved."
    if change.event.is_sensitive:
        return (
            "Progress note saved and marked sensitive: only staff who may read sensitive "
            "notes see it, and reports that quoted it are redrafted or marked for review."
        )
    return (
        "Progress note saved and no longer marked sensitive: everyone who may read this "
        "student's progress sees it."
    )


@router.post(EVENT_PATH + "/edit")
def edit_event(
    id_progress_event: str,
    request: Request,
    actor: PageActor,
    content: FormText = "",
    id_goal: FormText = "",
    is_sensitive: FormText = "",
    etag: FormText = "",
) -> Response:
    event_id = forms.path_id(id_progress_event)
    student_id = progress_events.student_of_event(actor, event_id)
    values = {"content": content, "id_goal": id_goal, "is_sensitive": is_sensitive}
    # What the form offered this person; an empty control means "none" or "not
    # ticked" there, and "leave it" where it was not offered.
    offers_goal = actor.authz.can_on_student("goal", "read", student_id)
    offers_flag = actor.authz.can_on_student(progress_events.RESOURCE, "read_sensitive", student_id)

    def change() -> tuple[str, str]:
        data: dict[str, object] = {"content": forms.multiline(content)}
        # Only what the form offered, or what was sent anyway: the service refuses a
        # change the person may not make, in words.
        if offers_goal or id_goal:
            data["id_goal"] = forms.record_choice(id_goal, _EDIT_FIELDS["id_goal"])
        if offers_flag or is_sensitive:
            data["is_sensitive"] = forms.checkbox(is_sensitive, _EDIT_FIELDS["is_sensitive"])
        body = forms.validated(ProgressEventUpdate, _EDIT_FIELDS, values, data)
        changed = progress_events.change_event(
            actor, app_settings(request), event_id, body, etag[:200] or None
        )
        return _saved_message(changed), student_path(student_id) + EVENT.section

    return forms.submit(
        request,
        actor.db,
        FormState(values, form="event-edit"),
        _EDIT_FIELDS,
        change,
        forms.showing(_edit_page, request, actor, event_id),
    )


@router.get(EVENT_PATH + "/delete")
def delete_event_page(id_progress_event: str, request: Request, actor: PageActor) -> Response:
    event = progress_events.get_event(actor, forms.path_id(id_progress_event))
    return record_page(request, actor, EVENT, event, "staff/record_delete.html", deleting=True)


@router.post(EVENT_PATH + "/delete")
def delete_event(id_progress_event: str, request: Request, actor: PageActor) -> Response:
    event_id = forms.path_id(id_progress_event)
    student_id = progress_events.student_of_event(actor, event_id)
    return delete_record(
        request, EVENT, student_id, lambda: progress_events.delete_event(actor, event_id)
    )
