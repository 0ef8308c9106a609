"""A student's goal tree in the pages: add, edit and move goals, and a goal's own page
with its progress chart and reports (SPEC sections 2 and 8).

With htmx, the tree forms answer the tree fragment; without, the student page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.errors import NotFound, ValidationFailed
from goalpath.goals import service as goals
from goalpath.goals.schemas import GoalInput, GoalUpdate
from goalpath.goals.tree import build_tree
from goalpath.kit.pagination import PageRequest
from goalpath.models import (
    ProgressEvent,
)
from goalpath.progress_events import service as progress_events
from goalpath.progress_reports import service as progress_reports
from goalpath.progress_reports.periods import (
    MAX_YEAR,
    MIN_YEAR,
    YEARS_BACK,
    current_period,
    period_choices,
    school_year_days,
    school_year_label,
    school_year_of,
)
from goalpath.students.pages import (
    EVENTS_PER_PAGE,
    REPORTS_PER_PAGE,
    student_page_response,
    tree_view,
)
from goalpath.web import forms
from goalpath.web.charts import weekly_bar_chart, weekly_counts
from goalpath.web.forms import FieldSpec, FormInvalid, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
    render,
)
from goalpath.web.records import (
    STUDENTS_PATH,
    student_identifier,
    student_path,
    today_of,
    user_names,
)

router = page_router()


def _tree_again(
    request: Request, actor: Actor, id_student: int, focus: int | None = None
) -> Callable[[FormState | None, str | None], Response]:
    def again(failed: FormState | None, message: str | None) -> Response:
        if not forms.is_htmx(request):
            return student_page_response(request, actor, id_student, failed)
        # Shown on its own, the tree is a read of its own.
        tree = tree_view(actor, id_student, audited=True)
        # The "log progress" form lists the goals too: it gets the new list alongside.
        logs = tree is not None and actor.authz.can_on_student(
            "progress_event", "create", id_student
        )
        context = {
            "student": {"id_student": id_student},
            "goals": tree,
            "failed": failed,
            "message": message,
            "focus_goal": focus if failed is None else None,
            "fragment": True,
            "log_goal_choices": tree["tree"].choices() if tree is not None and logs else None,
        }
        return render(request, "staff/goal_tree_fragment.html", context)

    return again


def _goal_fields(form: str) -> dict[str, FieldSpec]:
    return {
        "title": FieldSpec(f"{form}-title", "Title", "Enter a title for the goal."),
        "category": FieldSpec(f"{form}-category", "Category", "Enter a category."),
        "description": FieldSpec(f"{form}-description", "Description", "Enter a description."),
        "id_goal_parent": FieldSpec(f"{form}-parent", "Parent goal", "Choose a parent goal."),
    }


@router.post(STUDENTS_PATH + "/{id_student}/goals")
def add_goal(
    id_student: str,
    request: Request,
    actor: PageActor,
    title: FormText = "",
    category: FormText = "",
    description: FormText = "",
    id_goal_parent: FormText = "",
) -> Response:
    student_id = forms.path_id(id_student)
    parent_text = id_goal_parent
    # The form's name says where it sits: under a goal, or at the top of the tree.
    form = (
        f"goal-{parent_text}-add" if parent_text.isascii() and parent_text.isdigit() else "goal-add"
    )
    fields = _goal_fields(form)
    values = {
        "title": title,
        "category": category,
        "description": description,
        "id_goal_parent": id_goal_parent,
    }
    created: list[int] = []

    def change() -> tuple[str, str]:
        body = forms.validated(
            GoalInput,
            fields,
            values,
            {
                "title": title,
                "category": forms.optional(category),
                "description": forms.optional(forms.multiline(description)),
                "id_goal_parent": forms.record_choice(id_goal_parent, fields["id_goal_parent"]),
            },
        )
        goal = goals.create_goal(actor, student_id, body)
        created.append(goal.id_goal)
        kind = "Sub-goal" if body.id_goal_parent is not None else "Goal"
        return f"{kind} \u201c{goal.title}\u201d added.", student_path(student_id) + "#goals"

    def again(failed: FormState | None, message: str | None) -> Response:
        focus = created[0] if created else None
        return _tree_again(request, actor, student_id, focus)(failed, message)

    return forms.submit(request, actor.db, FormState(values, form=form), fields, change, again)


def _goal_student(actor: Actor, id_goal: int) -> int:
    """The student of a goal the user may read (404 otherwise, as in the API); not a read
    on the trail, as the change that follows is."""
    goal = goals.get_goal(actor, id_goal, audited=False)
    if goal.id_student is None:
        raise NotFound("Not found.")
    return goal.id_student


@router.post("/goals/{id_goal}/edit")
def edit_goal(
    id_goal: str,
    request: Request,
    actor: PageActor,
    title: FormText = "",
    category: FormText = "",
    description: FormText = "",
    etag: FormText = "",
) -> Response:
    goal_id = forms.path_id(id_goal)
    student_id = _goal_student(actor, goal_id)
    form = f"goal-{goal_id}-edit"
    fields = _goal_fields(form)
    values = {"title": title, "category": category, "description": description}

    def change() -> tuple[str, str]:
        body = forms.validated(
            GoalUpdate,
            fields,
            values,
            {
                "title": title,
                "category": forms.optional(category),
                "description": forms.optional(forms.multiline(description)),
            },
        )
        # The form carries the ETag of the goal as it was shown, so a change made
        # meanwhile by someone else is not overwritten (412, as in the API).
        goal = goals.update_goal(actor, goal_id, body, etag[:200] or None)
        return f"Goal \u201c{goal.title}\u201d saved.", student_path(student_id) + "#goals"

    return forms.submit(
        request,
        actor.db,
        FormState(values, form=form),
        fields,
        change,
        _tree_again(request, actor, student_id, goal_id),
    )


def _parent_choice(value: str, spec: FieldSpec) -> int | None:
    """A new place in the tree: "top" for the top level, else a parent goal's id."""
    return None if value == "top" else forms.record_choice(value or "-", spec)


@router.post("/goals/{id_goal}/move")
def move_goal(
    id_goal: str,
    request: Request,
    actor: PageActor,
    id_goal_parent: FormText = "",
    etag: FormText = "",
) -> Response:
    goal_id = forms.path_id(id_goal)
    student_id = _goal_student(actor, goal_id)
    form = f"goal-{goal_id}-move"
    fields = {"id_goal_parent": FieldSpec(f"{form}-parent", "New place", "Choose a new place.")}
    values = {"id_goal_parent": id_goal_parent}

    def change() -> tuple[str, str]:
        parent = _parent_choice(id_goal_parent, fields["id_goal_parent"])
        body = forms.validated(GoalUpdate, fields, values, {"id_goal_parent": parent})
        goal = goals.update_goal(actor, goal_id, body, etag[:200] or None)
        return f"Goal \u201c{goal.title}\u201d moved.", student_path(student_id) + "#goals"

    return forms.submit(
        request,
        actor.db,
        FormState(values, form=form),
        fields,
        change,
        _tree_again(request, actor, student_id, goal_id),
    )


_TREE_MOVE_FIELDS = {
    "id_goal": FieldSpec("goal-move-goal", "Goal to move", "Choose the goal to move."),
    "id_goal_parent": FieldSpec("goal-move-parent", "New place", "Choose a new place."),
}


@router.post(STUDENTS_PATH + "/{id_student}/goals/move")
def move_goal_in_tree(
    id_student: str,
    request: Request,
    actor: PageActor,
    id_goal: FormText = "",
    id_goal_parent: FormText = "",
) -> Response:
    """The one "move a goal" form of a tree too large for a move form per goal."""

    student_id = forms.path_id(id_student)
    values = {"id_goal": id_goal, "id_goal_parent": id_goal_parent}
    moved: list[int] = []

    def change() -> tuple[str, str]:
        goal_spec = _TREE_MOVE_FIELDS["id_goal"]
        goal_id = forms.record_choice(id_goal or "-", goal_spec)
        assert goal_id is not None
        parent = _parent_choice(id_goal_parent, _TREE_MOVE_FIELDS["id_goal_parent"])
        body = forms.validated(GoalUpdate, _TREE_MOVE_FIELDS, values, {"id_goal_parent": parent})
        try:
            owner = _goal_student(actor, goal_id)
        except NotFound:
            owner = None
        if owner != student_id:
            # Another student's goal, or none the user may read: not on this list.
            raise FormInvalid(
                {goal_spec.element: [f"Choose {goal_spec.label.lower()} from the list."]}
            )
        goal = goals.update_goal(actor, goal_id, body, None)
        moved.append(goal_id)
        return f"Goal \u201c{goal.title}\u201d moved.", student_path(student_id) + "#goals"

    def again(failed: FormState | None, message: str | None) -> Response:
        focus = moved[0] if moved else None
        return _tree_again(request, actor, student_id, focus)(failed, message)

    return forms.submit(
        request, actor.db, FormState(values, form="goal-move"), _TREE_MOVE_FIELDS, change, again
    )


def _goal_context(request: Request, actor: Actor, id_goal: int) -> dict[str, Any]:
    settings = app_settings(request)
    # The page is one read on the trail, the goal's: what it shows besides (the goal's
    # place in the tree, its reports) is not recorded again.
    goal = goals.get_goal(actor, id_goal)
    id_student = goal.id_student
    if id_student is None:
        raise NotFound("Not found.")
    authz = actor.authz
    tree = build_tree(goals.goal_tree(actor, id_student, audited=False))
    below = tree.below(id_goal)
    parent = tree.goals.get(goal.id_goal_parent) if goal.id_goal_parent else None
    today = today_of(actor)
    year_text = forms.query(request, "year")
    year = school_year_of(today)
    if year_text is not None:
        # The years a report can have: a date cannot hold year 0 or the school year
        # that starts in 9999 and ends in 10000.
        if not (
            year_text.isascii()
            and year_text.isdigit()
            and len(year_text) == 4
            and MIN_YEAR <= int(year_text) <= MAX_YEAR
        ):
            raise ValidationFailed(
                f"The school year must be a year from {MIN_YEAR} to {MAX_YEAR}, such as 2026."
            )
        year = int(year_text)
    first_day, last_day = school_year_days(year)
    context: dict[str, Any] = {
        "goal": goal,
        "parent": parent,
        "identifier": student_identifier(actor, id_student),
        "subtree": build_tree(below),
        "goal_titles": {item.id_goal: item.title for item, _depth in tree.order},
        "chart_year": year,
        "chart_year_label": school_year_label(year),
        "chart_years": [
            (option, school_year_label(option))
            for option in sorted(
                {year, *range(school_year_of(today) - YEARS_BACK, school_year_of(today) + 1)},
                reverse=True,
            )
        ],
        **period_choices(settings, today),
    }
    context["current_period"], context["current_year"] = current_period(settings, today)
    authors: set[int | None] = set()
    if authz.can_on_student("progress_event", "read", id_student):
        events_cursor = forms.cursor(request, "events")
        events, next_events = progress_events.list_events(
            actor,
            id_student,
            progress_events.EventFilters(id_goal=id_goal),
            PageRequest(limit=EVENTS_PER_PAGE, cursor=events_cursor),
        )
        authors.update(event.id_user_created for event in events)
        # The chart counts the goal's events and its sub-goals' (as its report does),
        # on the same read condition as every list: hidden events are not counted.
        goal_ids = [id_goal, *(item.id_goal for item in below)]
        start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
        after = last_day + timedelta(days=1)
        stamps = actor.db.scalars(
            select(ProgressEvent.created_at).where(
                ProgressEvent.id_student == id_student,
                ProgressEvent.id_goal.in_(goal_ids),
                ProgressEvent.created_at >= start,
                ProgressEvent.created_at < datetime(after.year, after.month, after.day, tzinfo=UTC),
                authz.readable("progress_event"),
            )
        )
        chart = weekly_counts((stamp for stamp in stamps if stamp is not None), first_day, last_day)
        scope_words = "this goal and its sub-goals" if below else "this goal"
        title = f"Progress notes per week for {scope_words}, school year {school_year_label(year)}"
        busiest = chart.busiest
        summary = (
            f"{chart.total} progress {'note' if chart.total == 1 else 'notes'} logged for "
            f"{scope_words} from {first_day.isoformat()} to {last_day.isoformat()}, in "
            f"{chart.active_weeks} of {len(chart.weeks)} weeks."
        )
        if busiest is not None:
            summary += f" The busiest week began {busiest.start.isoformat()}, with {busiest.count}."
        context["progress"] = {
            "events": events,
            "next_cursor": next_events,
            "cursor": events_cursor,
        }
        context["chart"] = {
            "data": chart,
            "summary": summary,
            "svg": weekly_bar_chart(
                chart, title=title, description=summary, ident="progress-chart"
            ),
        }
    if authz.can_on_student("progress_report", "read", id_student):
        reports, _next = progress_reports.list_reports(
            actor,
            id_student,
            progress_reports.ReportFilters(id_goal=id_goal),
            PageRequest(limit=REPORTS_PER_PAGE, cursor=None),
            audited=False,
        )
        context["reports"] = sorted(
            reports, key=lambda report: (-(report.year or 0), report.period or "")
        )
        context["can_generate"] = goal.id_goal_parent is None and authz.can_on_student(
            "progress_report", "create", id_student
        )
    context["authors"] = user_names(actor, authors)
    return context


def goal_page_response(
    request: Request, actor: Actor, id_goal: int, failed: FormState | None = None
) -> Response:
    context = _goal_context(request, actor, id_goal)
    return forms.render_again(request, "staff/goal.html", context, failed)


@router.get("/goals/{id_goal}")
def goal_page(id_goal: str, request: Request, actor: PageActor) -> Response:
    return goal_page_response(request, actor, forms.path_id(id_goal))
