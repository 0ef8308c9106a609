"""The students a person works with, and a student's record (SPEC sections 1, 2 and 9).

The student page is the composite of the domains' parts: the goal tree, the progress
timeline, health notes and reports, each shown only to those who may read it (a section
the user has no right to is left out, not emptied). Every part comes from the same
service as the API's, so a page never shows more than the API would; the counts per
student are queried here on the same `authz.readable` conditions, in a fixed number of
statements whatever the page size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.authz.explain import explain_student_access
from goalpath.errors import ValidationFailed
from goalpath.goals import service as goals
from goalpath.goals.tree import GoalTree, build_tree
from goalpath.health_notes import service as health_notes
from goalpath.health_notes.crypto import note_cipher
from goalpath.kit.etag import etag_for
from goalpath.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from goalpath.models import (
    Goal,
    HealthNote,
    ProgressEvent,
    Student,
)
from goalpath.progress_events import service as progress_events
from goalpath.progress_reports import service as progress_reports
from goalpath.progress_reports.periods import current_period, period_choices, school_year_label
from goalpath.student_access import service as student_access
from goalpath.students import service as students
from goalpath.students.overview import program_names, student_rows
from goalpath.web import forms
from goalpath.web.forms import FormState
from goalpath.web.pages import (
    PageActor,
    has_page,
    page_router,
    render,
)
from goalpath.web.records import STUDENTS_PATH, changeable, student_path, today_of, user_names

router = page_router()


FAMILY_REPORT = "/family-report.pdf"


EVENTS_PER_PAGE = 20


NOTES_PER_PAGE = 20


REPORTS_PER_PAGE = 100


MAX_SEARCH = 50
# The staff assigned to a student, listed on their page.
ASSIGNED_SHOWN = 50
# Above this many goals a move form per goal (each listing every other goal) would make
# the page grow with the square of the tree: the tree gets one shared move form instead.
MOVE_FORMS_PER_GOAL = 40


def _students_page(request: Request, actor: Actor) -> Response:
    settings = app_settings(request)
    search = request.query_params.get("q", "")
    cursor = forms.cursor(request, "cursor")
    limit_text = forms.query(request, "limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 3):
            raise ValidationFailed(f"The page size must be a number from 1 to {MAX_LIMIT}.")
        limit = int(limit_text)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"The page size must be a number from 1 to {MAX_LIMIT}.")
    period, year = current_period(settings, today_of(actor))
    context: dict[str, Any] = {
        "search": search,
        "cursor": cursor,
        "limit": limit_text,
        "period": period,
        "year": year,
        "year_label": school_year_label(year),
        "may_add": actor.grants.allows("student", "create"),
        "show_goals": actor.grants.allows("goal", "read"),
        "show_activity": actor.grants.allows("progress_event", "read"),
        "show_reports": actor.grants.allows("goal", "read")
        and actor.grants.allows("progress_report", "read"),
        "rows": [],
        "next_href": None,
        "first_href": None,
    }
    prefix = search.strip()
    status = 200
    if len(prefix) > MAX_SEARCH or not forms.printable(prefix):
        context["errors"] = {
            "q": [
                f"Enter at most {MAX_SEARCH} characters, without control characters."
                if len(prefix) > MAX_SEARCH
                else "Remove the control characters from the search."
            ]
        }
        status = 422
    else:
        context["search"] = prefix
        listed, next_cursor = students.list_students(
            actor,
            students.StudentFilters(identifier_prefix=prefix or None),
            PageRequest(limit=limit, cursor=cursor),
        )
        context["rows"] = student_rows(actor, listed, period, year)
        kept = {"q": prefix, "limit": limit_text or ""}
        if next_cursor is not None:
            context["next_href"] = forms.href(STUDENTS_PATH, **kept, cursor=next_cursor)
        if cursor is not None:
            context["first_href"] = forms.href(STUDENTS_PATH, **kept)
    template = "staff/students_fragment.html" if forms.is_htmx(request) else "staff/students.html"
    return render(request, template, context, status_code=200 if forms.is_htmx(request) else status)


@router.get(STUDENTS_PATH)
def students_page(request: Request, actor: PageActor) -> Response:
    return _students_page(request, actor)


def tree_view(actor: Actor, id_student: int, *, audited: bool) -> dict[str, Any] | None:
    """The student's goal tree as the student page and its fragments show it, with what
    the user may change; None without the right to read goals."""
    if not actor.authz.can_on_student("goal", "read", id_student):
        return None
    tree: GoalTree[Goal] = build_tree(goals.goal_tree(actor, id_student, audited=audited))
    updatable = set(
        actor.db.scalars(
            select(Goal.id_goal).where(
                Goal.id_student == id_student, actor.authz.condition("goal", "update")
            )
        )
    )
    return {
        "tree": tree,
        "updatable": updatable,
        "can_create_goal": actor.authz.can_on_student("goal", "create", id_student),
        "move_per_goal": len(tree.order) <= MOVE_FORMS_PER_GOAL,
        "etags": {
            goal.id_goal: etag_for(goals.ETAG_KIND, goal.id_goal, goal.updated_at)
            for goal, _depth in tree.order
        },
    }


def progress_context(
    actor: Actor, id_student: int, cursor: str | None, *, log_goal: int | None = None
) -> dict[str, Any] | None:
    """The student's timeline, newest first, what the user may log and change, and the
    goal the "log progress" form starts on (the last one logged against)."""
    authz = actor.authz
    if not authz.can_on_student("progress_event", "read", id_student):
        return None
    events, next_cursor = progress_events.list_events(
        actor,
        id_student,
        progress_events.EventFilters(),
        PageRequest(limit=EVENTS_PER_PAGE, cursor=cursor),
    )
    may = changeable(
        actor,
        ProgressEvent.id_progress_event,
        (event.id_progress_event for event in events),
        "progress_event",
    )
    return {
        "events": events,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "can_log": authz.can_on_student("progress_event", "create", id_student),
        "can_flag": authz.can_on_student("progress_event", "read_sensitive", id_student),
        "updatable": may["update"],
        "deletable": may["delete"],
        "log_goal": "" if log_goal is None else str(log_goal),
    }


def _student_context(
    request: Request,
    actor: Actor,
    id_student: int,
    *,
    events_cursor: str | None = None,
    notes_cursor: str | None = None,
    reports_cursor: str | None = None,
    log_goal: str | None = None,
) -> dict[str, Any]:
    settings = app_settings(request)
    authz = actor.authz
    student = students.get_student(actor, id_student)
    # get_student has checked the scope and put the read on the audit trail, which
    # covers the goals and reports listed below (health notes and sensitive events are
    # recorded by name as well); the explanation is about the viewer's own access.
    role, reasons = explain_student_access(authz, actor.grants, id_student)
    tree = tree_view(actor, id_student, audited=False)
    goal_titles = {goal.id_goal: goal.title for goal, _depth in tree["tree"].order} if tree else {}
    context: dict[str, Any] = {
        "student": student,
        "program": program_names(actor, [student.id_program]).get(student.id_program or 0),
        "role_name": role,
        "may_edit_student": authz.allowed_on(Student, id_student, "student", "update"),
        "assigned": student_access.assigned_to(actor, id_student, ASSIGNED_SHOWN)
        if actor.grants.allows(student_access.RESOURCE, "read")
        else None,
        "reasons": reasons,
        "goals": tree,
        "goal_titles": goal_titles,
        "today": today_of(actor),
        **period_choices(settings, today_of(actor)),
    }
    context["current_period"], context["current_year"] = current_period(settings, today_of(actor))
    authors: set[int | None] = set()
    progress = progress_context(
        actor, id_student, events_cursor, log_goal=forms.record_id(log_goal or "")
    )
    if progress is not None:
        context["progress"] = progress
        authors.update(event.id_user_created for event in progress["events"])
    if authz.can_on_student("health_note", "read", id_student):
        notes, next_notes = health_notes.list_notes(
            actor,
            note_cipher(request),
            id_student,
            PageRequest(limit=NOTES_PER_PAGE, cursor=notes_cursor),
        )
        may = changeable(
            actor, HealthNote.id_health_note, (note.id_health_note for note in notes), "health_note"
        )
        context["health"] = {
            "notes": notes,
            "next_cursor": next_notes,
            "cursor": notes_cursor,
            "can_add": authz.can_on_student("health_note", "create", id_student),
            "updatable": may["update"],
            "deletable": may["delete"],
        }
        authors.update(note.id_user_created for note in notes)
    if authz.can_on_student("progress_report", "read", id_student):
        reports, next_reports = progress_reports.list_reports(
            actor,
            id_student,
            progress_reports.ReportFilters(),
            PageRequest(limit=REPORTS_PER_PAGE, cursor=reports_cursor),
            audited=False,
        )
        context["reports"] = {
            "rows": sorted(
                reports,
                key=lambda report: (-(report.year or 0), report.period or "", report.id_goal or 0),
            ),
            "next_cursor": next_reports,
            "cursor": reports_cursor,
            "can_generate": authz.can_on_student("progress_report", "create", id_student),
            # The family export is its own page; offered once it is mounted.
            "family_export": has_page(request, student_path(id_student) + FAMILY_REPORT),
        }
    context["authors"] = user_names(actor, authors)
    return context


def student_page_response(
    request: Request,
    actor: Actor,
    id_student: int,
    failed: FormState | None = None,
    *,
    cursors: Mapping[str, str | None] | None = None,
) -> Response:
    context = _student_context(request, actor, id_student, **(cursors or {}))
    return forms.render_again(request, "staff/student.html", context, failed)


@router.get(STUDENTS_PATH + "/{id_student}")
def student_page(id_student: str, request: Request, actor: PageActor) -> Response:
    cursors = {
        "events_cursor": forms.cursor(request, "events"),
        "notes_cursor": forms.cursor(request, "notes"),
        "reports_cursor": forms.cursor(request, "reports"),
        # After logging, the form starts on the goal last logged against.
        "log_goal": forms.query(request, "goal"),
    }
    return student_page_response(request, actor, forms.path_id(id_student), cursors=cursors)
