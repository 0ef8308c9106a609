"""The staff's daily pages (SPEC sections 1, 8 and 9): my students, a student's record,
a goal and its progress chart, a progress report, and a program's report board.

Every page acts through the API's own actor (`page_actor`) and calls the same service
functions as the API, so a page can never show a user more than the API would: lists
come from the same scoped queries, records from `authz.fetch` (404 outside the scope),
and a section the user has no right to is left out, not emptied. Where a page needs
more than a service offers (counts per student, a chart's timestamps), the query is
written here on the same `authz.readable` conditions, in a fixed number of statements.

Forms validate with the API's input schemas. A refused form comes back with the form
again and its errors (4xx); the page rolls its transaction back itself where the API
would have raised. htmx only enhances: every form is a plain POST that redirects,
and with htmx the same POST answers the fragment to swap (as 200 even for a refused
form, because htmx swaps only 2xx answers; the errors are in the fragment).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, NamedTuple, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.authz.explain import explain_student_access
from goalpath.config import Settings
from goalpath.errors import GoalpathError, NotFound, ValidationFailed
from goalpath.goals import service as goals
from goalpath.goals.schemas import GoalInput, GoalUpdate
from goalpath.health_notes import service as health_notes
from goalpath.health_notes.api import note_cipher
from goalpath.health_notes.schemas import HealthNoteInput
from goalpath.kit.etag import etag_for
from goalpath.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from goalpath.models import (
    Goal,
    Program,
    ProgressEvent,
    ProgressReport,
    Student,
    User,
)
from goalpath.progress_events import service as progress_events
from goalpath.progress_events.schemas import ProgressEventInput
from goalpath.progress_reports import service as progress_reports
from goalpath.progress_reports.generation import generate_reports
from goalpath.progress_reports.periods import (
    MAX_NAME_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
    SCHOOL_YEAR_START_MONTH,
    configured_periods,
    district_of_student,
    period_dates,
)
from goalpath.progress_reports.schemas import GenerateInput, GenerationResult, ReportUpdate
from goalpath.students import service as students
from goalpath.students.schemas import MAX_ID
from goalpath.web.charts import school_year_days, weekly_bar_chart, weekly_counts
from goalpath.web.pages import PageActor, has_page, redirect_with_flash, render

router = APIRouter(include_in_schema=False)

STUDENTS_PATH = "/students"
REPORTS_PATH = "/reports"
FAMILY_REPORT = "/family-report.pdf"
EVENTS_PER_PAGE = 20
NOTES_PER_PAGE = 20
REPORTS_PER_PAGE = 100
# Above this many goals a move form per goal (each listing every other goal) would make
# the page grow with the square of the tree: the tree gets one shared move form instead.
MOVE_FORMS_PER_GOAL = 40
# The cursor a list hands out is short; page_request allows the same length.
MAX_CURSOR = 512
MAX_SEARCH = 50
# Years offered in the period pickers around the current school year.
YEARS_BACK = 3
YEARS_AHEAD = 1

FormText = Annotated[str, Form()]
Model = TypeVar("Model", bound=BaseModel)


# -- form state and validation --------------------------------------------------------


class FieldSpec(NamedTuple):
    element: str  # the id of the form control, which the error summary links to
    label: str
    empty: str  # the message when the field was left empty


@dataclass
class FormState:
    """A form that was refused: which one, what was typed, and why."""

    form: str
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    form_error: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    status_code: int = 422


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("form invalid")
        self.errors = errors


def _plain_message(problem: Mapping[str, Any], spec: FieldSpec, raw: str | None) -> str:
    kind = str(problem.get("type", ""))
    context = problem.get("ctx") or {}
    if kind in ("missing", "string_too_short") or (raw is not None and not raw.strip()):
        return spec.empty
    if kind == "string_too_long":
        return f"{spec.label} must be at most {context.get('max_length', 0):,} characters."
    if kind == "greater_than_equal":
        return f"{spec.label} must be at least {context.get('ge')}."
    if kind == "less_than_equal":
        return f"{spec.label} must be at most {context.get('le')}."
    if kind == "value_error":
        reason = str(problem.get("msg", "")).removeprefix("Value error, ")
        return f"{spec.label} {reason}."
    return f"{spec.label} is not valid."


def _validated(
    schema: type[Model],
    fields: Mapping[str, FieldSpec],
    raw: Mapping[str, str],
    data: Mapping[str, Any],
) -> Model:
    """`data` through the API's input schema; its refusals as messages per control."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as error:
        errors: dict[str, list[str]] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            # A check of the whole model (e.g. "exactly one target") is shown on the
            # form's first field.
            spec = fields.get(name) or next(iter(fields.values()))
            if spec.element not in errors:
                errors[spec.element] = [_plain_message(problem, spec, raw.get(name))]
        raise FormInvalid(errors) from None


def _service_refusal(
    error: GoalpathError, fields: Mapping[str, FieldSpec]
) -> tuple[dict[str, list[str]], str | None]:
    """A service's refusal under the form's controls: on the field it names, else for
    the whole form."""
    for item in error.errors:
        spec = fields.get(str(item.get("field")))
        if spec is not None:
            return {spec.element: [error.detail]}, None
    return {}, error.detail


def _record_choice(value: str, spec: FieldSpec) -> int | None:
    """A record picked from a list: empty for none, else its id."""
    if value == "":
        return None
    if value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise FormInvalid({spec.element: [f"Choose {spec.label.lower()} from the list."]})


def _checkbox(value: str, spec: FieldSpec) -> bool:
    if value in ("", "off", "false"):
        return False
    if value in ("on", "true", "1"):
        return True
    raise FormInvalid({spec.element: [f"{spec.label}: tick the box or leave it empty."]})


def _year_choice(value: str, spec: FieldSpec) -> int | str:
    """A school year picked from the list; anything else goes to the schema as given,
    which refuses it with the API's message."""
    if value.isascii() and value.isdigit() and len(value) <= 4:
        return int(value)
    if value == "":
        return value
    raise FormInvalid({spec.element: ["Choose a school year from the list."]})


def _text(value: str) -> str:
    """Browsers send a textarea's line breaks as CRLF; the records keep LF."""
    return value.replace("\r\n", "\n")


def _optional(value: str) -> str | None:
    return value if value.strip() else None


def _printable(value: str) -> bool:
    return not any(unicodedata.category(character) == "Cc" for character in value)


# -- answering ------------------------------------------------------------------------


_ERROR_TITLES = {
    400: "This request cannot be handled",
    403: "You cannot do this",
    404: "Page not found",
    409: "This cannot be done now",
    412: "This changed meanwhile",
    422: "Something in the address is not valid",
    503: "This is unavailable for now",
}


def _is_htmx(request: Request) -> bool:
    """A request from htmx that wants a fragment: not a history restore, which needs
    the whole page."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _error_page(request: Request, db: Session, error: GoalpathError, back: str) -> Response:
    db.rollback()
    status = error.status_code
    # The same words whether the record is absent or out of scope (SPEC section 5).
    message = (
        "This page does not exist, or you do not have access to it."
        if status == 404
        else error.detail
    )
    return render(
        request,
        "staff/error.html",
        {
            "heading": _ERROR_TITLES.get(status, "Something went wrong"),
            "message": message,
            "back": back,
        },
        status_code=status,
    )


def _guarded(request: Request, db: Session, back: str, build: Callable[[], Response]) -> Response:
    try:
        return build()
    except GoalpathError as error:
        return _error_page(request, db, error, back)


def _href(path: str, **query: str) -> str:
    """`path` with the query's non-empty values."""
    kept = {name: value for name, value in query.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def _record_id(text: str) -> int:
    """An id from the address; anything that is not one is as absent as a missing
    record."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID:
        return int(text)
    raise NotFound("Not found.")


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def _cursor(request: Request, name: str) -> str | None:
    value = _query(request, name)
    if value is not None and (len(value) > MAX_CURSOR or not value.isascii()):
        raise ValidationFailed("This page link is not valid; start again from the first page.")
    return value


def _submit(
    request: Request,
    actor: Actor,
    *,
    state: FormState,
    fields: Mapping[str, FieldSpec],
    change: Callable[[], tuple[str, str]],
    again: Callable[[FormState | None, str | None], Response],
    page: str,
) -> Response:
    """Run a form's change. Success: a redirect with a flash (or, for htmx, the fresh
    fragment and the message for its live region). Refusal: the form again with its
    errors, after rolling the change back."""
    state.labels = {spec.element: spec.label for spec in fields.values()}
    try:
        message, location = change()
    except FormInvalid as invalid:
        actor.db.rollback()
        state.errors = invalid.errors
    except GoalpathError as error:
        actor.db.rollback()
        state.errors, state.form_error = _service_refusal(error, fields)
        state.status_code = error.status_code
    else:
        if _is_htmx(request):
            return _guarded_fragment(request, actor.db, page, lambda: again(None, message))
        return redirect_with_flash(request, location, message)
    if _is_htmx(request):
        return _guarded_fragment(request, actor.db, page, lambda: again(state, None))
    # When the page itself cannot be shown any more, the error page leads to a list.
    back = REPORTS_PATH if page.startswith("/programs/") else STUDENTS_PATH
    return _guarded(request, actor.db, back, lambda: again(state, None))


def _guarded_fragment(
    request: Request, db: Session, page: str, build: Callable[[], Response]
) -> Response:
    """htmx swaps only 2xx answers, so a fragment comes back as 200 even when it shows
    a refused form; when the page itself is gone, the browser loads it whole."""
    try:
        return build()
    except GoalpathError:
        db.rollback()
        return Response(status_code=200, headers={"HX-Redirect": page})


# -- small shared queries -----------------------------------------------------------


def _program_names(actor: Actor, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    statement = select(Program.id_program, Program.name).where(
        Program.id_program.in_(wanted), actor.authz.readable("program")
    )
    return {
        row.id_program: row.name or f"Program {row.id_program}"
        for row in actor.db.execute(statement)
    }


def _user_names(actor: Actor, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the staff the user may read; others are shown by number, as the API
    shows them."""
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    statement = select(User.id_user, User.name).where(
        User.id_user.in_(wanted), actor.authz.readable("user")
    )
    return {
        row.id_user: row.name or f"Staff member {row.id_user}"
        for row in actor.db.execute(statement)
    }


def _student_identifier(actor: Actor, id_student: int | None) -> str | None:
    if id_student is None:
        return None
    statement = select(Student.identifier).where(
        Student.id_student == id_student, actor.authz.readable("student")
    )
    identifier: str | None = actor.db.scalar(statement)
    return identifier


# -- periods --------------------------------------------------------------------------


def school_year_of(day: date) -> int:
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def current_period(settings: Settings, today: date) -> tuple[str, int]:
    """The configured period that contains today (the first one listed when several
    do); between periods, the one that ended last."""
    periods = configured_periods(settings)
    year = school_year_of(today)
    ended: tuple[date, str] | None = None
    for name, period in periods.items():
        first, last = period.dates(year)
        if first <= today <= last:
            return name, year
        if last < today and (ended is None or last > ended[0]):
            ended = (last, name)
    if ended is not None:
        return ended[1], year
    previous = max((period.dates(year - 1)[1], name) for name, period in periods.items())
    return previous[1], year - 1


def school_year_label(year: int) -> str:
    return f"{year}\u2013{(year + 1) % 100:02d}"


def _period_choices(settings: Settings, today: date, *extra_years: int | None) -> dict[str, Any]:
    current = school_year_of(today)
    years = set(range(current - YEARS_BACK, current + YEARS_AHEAD + 1))
    # A year asked for in the address stays selectable, if it is one a report can have.
    years.update(year for year in extra_years if year is not None and MIN_YEAR <= year <= MAX_YEAR)
    return {
        "period_options": [(name, name) for name in configured_periods(settings)],
        "years": [(year, school_year_label(year)) for year in sorted(years, reverse=True)],
    }


def _today(actor: Actor) -> date:
    return actor.info.now.date()


def _generation_message(result: GenerationResult) -> str:
    def count(number: int, one: str, many: str) -> str:
        return f"{number} {one if number == 1 else many}"

    parts = []
    if result.created:
        parts.append(count(result.created, "report drafted", "reports drafted"))
    if result.updated:
        parts.append(count(result.updated, "draft written again", "drafts written again"))
    sentences = ["; ".join(parts).capitalize() + "." if parts else "No report was drafted."]
    if result.skipped_final:
        sentences.append(
            count(
                result.skipped_final,
                "final report was left as it was.",
                "final reports were left as they were.",
            )
        )
    if result.skipped_forbidden:
        sentences.append(
            count(
                result.skipped_forbidden,
                "draft you may not change was left as it was.",
                "drafts you may not change were left as they were.",
            )
        )
    return " ".join(sentences)


_PERIOD_FIELDS = {
    "period": FieldSpec("period", "Period", "Choose a period."),
    "year": FieldSpec("year", "School year", "Choose a school year."),
}


def _generate(
    actor: Actor,
    settings: Settings,
    values: Mapping[str, str],
    fields: Mapping[str, FieldSpec],
    **target: int,
) -> GenerationResult:
    body = _validated(
        GenerateInput,
        fields,
        values,
        {
            "period": values["period"],
            "year": _year_choice(values["year"], fields["year"]),
            **target,
        },
    )
    return generate_reports(
        actor.authz,
        settings,
        period=body.period,
        year=body.year,
        id_goal=body.id_goal,
        id_student=body.id_student,
        id_program=body.id_program,
        now=actor.info.now,
    )


# -- /students ------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentRow:
    student: Student
    program: str | None
    goals: int | None
    last_activity: datetime | None
    missing: int | None
    draft: int | None
    final: int | None


def _student_rows(
    actor: Actor, listed: Sequence[Student], period: str, year: int
) -> list[StudentRow]:
    """Program, goal count, last logged progress and the period's open reports for a
    page of students: one query each, whatever the page size, each on the user's own
    read conditions (a count never includes what the user cannot see)."""
    ids = [student.id_student for student in listed]
    programs = _program_names(actor, (student.id_program for student in listed))
    grants = actor.grants
    goal_counts: dict[int, int] | None = None
    last_events: dict[int, datetime] | None = None
    due: dict[int, tuple[int, int, int]] | None = None
    if ids and grants.allows("goal", "read"):
        goal_counts = {
            row[0]: int(row[1])
            for row in actor.db.execute(
                select(Goal.id_student, func.count(Goal.id_goal))
                .where(Goal.id_student.in_(ids), actor.authz.readable("goal"))
                .group_by(Goal.id_student)
            )
            if row[0] is not None
        }
    if ids and grants.allows("progress_event", "read"):
        last_events = {
            row[0]: row[1]
            for row in actor.db.execute(
                select(ProgressEvent.id_student, func.max(ProgressEvent.created_at))
                .where(ProgressEvent.id_student.in_(ids), actor.authz.readable("progress_event"))
                .group_by(ProgressEvent.id_student)
            )
            if row[0] is not None and row[1] is not None
        }
    if ids and grants.allows("goal", "read") and grants.allows("progress_report", "read"):
        report_of_goal = and_(
            ProgressReport.id_goal == Goal.id_goal,
            ProgressReport.id_student == Goal.id_student,
            ProgressReport.period == period,
            ProgressReport.year == year,
            actor.authz.readable("progress_report"),
        )
        missing = func.sum(case((ProgressReport.id_progress_report.is_(None), 1), else_=0))
        draft = func.sum(
            case(
                (
                    and_(
                        ProgressReport.id_progress_report.is_not(None),
                        ProgressReport.finalized_at.is_(None),
                    ),
                    1,
                ),
                else_=0,
            )
        )
        final = func.sum(case((ProgressReport.finalized_at.is_not(None), 1), else_=0))
        due = {
            row[0]: (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))
            for row in actor.db.execute(
                select(Goal.id_student, missing, draft, final)
                .select_from(Goal)
                .outerjoin(ProgressReport, report_of_goal)
                .where(
                    Goal.id_student.in_(ids),
                    Goal.id_goal_parent.is_(None),
                    actor.authz.readable("goal"),
                )
                .group_by(Goal.id_student)
            )
        }
    rows = []
    for student in listed:
        reports = due.get(student.id_student, (0, 0, 0)) if due is not None else None
        rows.append(
            StudentRow(
                student=student,
                program=programs.get(student.id_program) if student.id_program else None,
                goals=goal_counts.get(student.id_student, 0) if goal_counts is not None else None,
                last_activity=last_events.get(student.id_student)
                if last_events is not None
                else None,
                missing=reports[0] if reports is not None else None,
                draft=reports[1] if reports is not None else None,
                final=reports[2] if reports is not None else None,
            )
        )
    return rows


def _students_page(request: Request, actor: Actor) -> Response:
    settings = app_settings(request)
    search = request.query_params.get("q", "")
    cursor = _cursor(request, "cursor")
    limit_text = _query(request, "limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 3):
            raise ValidationFailed(f"The page size must be a number from 1 to {MAX_LIMIT}.")
        limit = int(limit_text)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"The page size must be a number from 1 to {MAX_LIMIT}.")
    period, year = current_period(settings, _today(actor))
    context: dict[str, Any] = {
        "search": search,
        "cursor": cursor,
        "limit": limit_text,
        "period": period,
        "year": year,
        "year_label": school_year_label(year),
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
    if len(prefix) > MAX_SEARCH or not _printable(prefix):
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
        context["rows"] = _student_rows(actor, listed, period, year)
        kept = {"q": prefix, "limit": limit_text or ""}
        if next_cursor is not None:
            context["next_href"] = _href(STUDENTS_PATH, **kept, cursor=next_cursor)
        if cursor is not None:
            context["first_href"] = _href(STUDENTS_PATH, **kept)
    template = "staff/students_fragment.html" if _is_htmx(request) else "staff/students.html"
    return render(request, template, context, status_code=200 if _is_htmx(request) else status)


@router.get(STUDENTS_PATH)
def students_page(request: Request, actor: PageActor) -> Response:
    return _guarded(request, actor.db, STUDENTS_PATH, lambda: _students_page(request, actor))


# -- the goal tree ----------------------------------------------------------------------


@dataclass(frozen=True)
class TreeToken:
    kind: str  # "ul", "li", "/li" or "/ul": the nested list, written without recursion
    goal: Goal | None = None
    depth: int = 0


@dataclass
class GoalTree:
    tokens: list[TreeToken]
    order: list[tuple[Goal, int]]  # every goal in document order, with its depth
    spans: dict[int, tuple[int, int]]  # goal -> [first, end) of its subtree in `order`

    @property
    def goals(self) -> dict[int, Goal]:
        return {goal.id_goal: goal for goal, _depth in self.order}

    def movable_under(self, id_goal: int) -> list[tuple[Goal, int]]:
        """The goals a goal may move under: every goal outside its own subtree."""
        first, end = self.spans[id_goal]
        return self.order[:first] + self.order[end:]

    def choices(self, exclude: int | None = None) -> list[tuple[str, str]]:
        """(value, label) pairs for a select, indented by depth; without the subtree of
        `exclude` when it is given."""
        items = self.order if exclude is None else self.movable_under(exclude)
        return [
            (str(goal.id_goal), "\u2003" * depth + (goal.title or f"Goal {goal.id_goal}"))
            for goal, depth in items
        ]


def build_tree(records: Sequence[Goal]) -> GoalTree:
    """The goals as a nested list. A goal whose parent is not among them is a root (as
    in the API's tree), and an explicit stack keeps any depth clear of Python's
    recursion limit."""
    present = {goal.id_goal for goal in records}
    children: dict[int | None, list[Goal]] = {}
    for goal in records:
        parent = goal.id_goal_parent if goal.id_goal_parent in present else None
        children.setdefault(parent, []).append(goal)
    tokens: list[TreeToken] = []
    order: list[tuple[Goal, int]] = []
    spans: dict[int, tuple[int, int]] = {}
    roots = children.get(None, [])
    if not roots:
        return GoalTree(tokens, order, spans)
    tokens.append(TreeToken("ul"))
    stack: list[tuple[Goal | None, Iterator[Goal]]] = [(None, iter(roots))]
    while stack:
        owner, siblings = stack[-1]
        current = next(siblings, None)
        if current is None:
            stack.pop()
            tokens.append(TreeToken("/ul"))
            if owner is not None:
                spans[owner.id_goal] = (spans[owner.id_goal][0], len(order))
                tokens.append(TreeToken("/li"))
            continue
        depth = len(stack) - 1
        tokens.append(TreeToken("li", current, depth))
        spans[current.id_goal] = (len(order), len(order) + 1)
        order.append((current, depth))
        kids = children.get(current.id_goal)
        if kids:
            tokens.append(TreeToken("ul"))
            stack.append((current, iter(kids)))
        else:
            tokens.append(TreeToken("/li"))
    return GoalTree(tokens, order, spans)


def _tree_context(actor: Actor, id_student: int, *, audited: bool) -> dict[str, Any] | None:
    if not actor.authz.can_on_student("goal", "read", id_student):
        return None
    tree = build_tree(goals.goal_tree(actor, id_student, audited=audited))
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


# -- /students/{id} ----------------------------------------------------------------------


def _progress_context(actor: Actor, id_student: int, cursor: str | None) -> dict[str, Any] | None:
    """The student's timeline, newest first, and what the user may log."""
    authz = actor.authz
    if not authz.can_on_student("progress_event", "read", id_student):
        return None
    events, next_cursor = progress_events.list_events(
        actor,
        id_student,
        progress_events.EventFilters(),
        PageRequest(limit=EVENTS_PER_PAGE, cursor=cursor),
    )
    return {
        "events": events,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "can_log": authz.can_on_student("progress_event", "create", id_student),
        "can_flag": authz.can_on_student("progress_event", "read_sensitive", id_student),
    }


def _student_context(
    request: Request,
    actor: Actor,
    id_student: int,
    *,
    events_cursor: str | None = None,
    notes_cursor: str | None = None,
    reports_cursor: str | None = None,
) -> dict[str, Any]:
    settings = app_settings(request)
    authz = actor.authz
    student = students.get_student(actor, id_student)
    # get_student has checked the scope and put the read on the audit trail, which
    # covers the goals and reports listed below (health notes and sensitive events are
    # recorded by name as well); the explanation is about the viewer's own access.
    role, reasons = explain_student_access(authz, actor.grants, id_student)
    tree = _tree_context(actor, id_student, audited=False)
    goal_titles = {goal.id_goal: goal.title for goal, _depth in tree["tree"].order} if tree else {}
    context: dict[str, Any] = {
        "student": student,
        "program": _program_names(actor, [student.id_program]).get(student.id_program or 0),
        "role_name": role,
        "reasons": reasons,
        "goals": tree,
        "goal_titles": goal_titles,
        "today": _today(actor),
        **_period_choices(settings, _today(actor)),
    }
    context["current_period"], context["current_year"] = current_period(settings, _today(actor))
    authors: set[int | None] = set()
    progress = _progress_context(actor, id_student, events_cursor)
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
        context["health"] = {
            "notes": notes,
            "next_cursor": next_notes,
            "cursor": notes_cursor,
            "can_add": authz.can_on_student("health_note", "create", id_student),
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
            "family_export": has_page(request, _student_path(id_student) + FAMILY_REPORT),
        }
    context["authors"] = _user_names(actor, authors)
    return context


def _student_path(id_student: int) -> str:
    return f"{STUDENTS_PATH}/{id_student}"


def _student_page(
    request: Request,
    actor: Actor,
    id_student: int,
    failed: FormState | None = None,
    *,
    cursors: Mapping[str, str | None] | None = None,
) -> Response:
    context = _student_context(request, actor, id_student, **(cursors or {}))
    context["failed"] = failed
    if failed is not None:
        context["errors"] = failed.errors
        context["form_error"] = failed.form_error
    return render(
        request,
        "staff/student.html",
        context,
        status_code=failed.status_code if failed is not None else 200,
    )


@router.get(STUDENTS_PATH + "/{id_student}")
def student_page(id_student: str, request: Request, actor: PageActor) -> Response:
    def build() -> Response:
        cursors = {
            "events_cursor": _cursor(request, "events"),
            "notes_cursor": _cursor(request, "notes"),
            "reports_cursor": _cursor(request, "reports"),
        }
        return _student_page(request, actor, _record_id(id_student), cursors=cursors)

    return _guarded(request, actor.db, STUDENTS_PATH, build)


# Goal tree forms: add a goal or sub-goal, edit, move. With htmx they answer the tree.


def _tree_again(
    request: Request, actor: Actor, id_student: int, focus: int | None = None
) -> Callable[[FormState | None, str | None], Response]:
    def again(failed: FormState | None, message: str | None) -> Response:
        if not _is_htmx(request):
            return _student_page(request, actor, id_student, failed)
        # Shown on its own, the tree is a read of its own.
        tree = _tree_context(actor, id_student, audited=True)
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
    def build() -> Response:
        student_id = _record_id(id_student)
        parent_text = id_goal_parent
        # The form's name says where it sits: under a goal, or at the top of the tree.
        form = (
            f"goal-{parent_text}-add"
            if parent_text.isascii() and parent_text.isdigit()
            else "goal-add"
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
            body = _validated(
                GoalInput,
                fields,
                values,
                {
                    "title": title,
                    "category": _optional(category),
                    "description": _optional(_text(description)),
                    "id_goal_parent": _record_choice(id_goal_parent, fields["id_goal_parent"]),
                },
            )
            goal = goals.create_goal(actor, student_id, body)
            created.append(goal.id_goal)
            kind = "Sub-goal" if body.id_goal_parent is not None else "Goal"
            return f"{kind} \u201c{goal.title}\u201d added.", _student_path(student_id) + "#goals"

        def again(failed: FormState | None, message: str | None) -> Response:
            focus = created[0] if created else None
            return _tree_again(request, actor, student_id, focus)(failed, message)

        return _submit(
            request,
            actor,
            state=FormState(form, values),
            fields=fields,
            change=change,
            again=again,
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


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
    def build() -> Response:
        goal_id = _record_id(id_goal)
        student_id = _goal_student(actor, goal_id)
        form = f"goal-{goal_id}-edit"
        fields = _goal_fields(form)
        values = {"title": title, "category": category, "description": description}

        def change() -> tuple[str, str]:
            body = _validated(
                GoalUpdate,
                fields,
                values,
                {
                    "title": title,
                    "category": _optional(category),
                    "description": _optional(_text(description)),
                },
            )
            # The form carries the ETag of the goal as it was shown, so a change made
            # meanwhile by someone else is not overwritten (412, as in the API).
            goal = goals.update_goal(actor, goal_id, body, etag[:200] or None)
            return f"Goal \u201c{goal.title}\u201d saved.", _student_path(student_id) + "#goals"

        return _submit(
            request,
            actor,
            state=FormState(form, values),
            fields=fields,
            change=change,
            again=_tree_again(request, actor, student_id, goal_id),
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


def _parent_choice(value: str, spec: FieldSpec) -> int | None:
    """A new place in the tree: "top" for the top level, else a parent goal's id."""
    return None if value == "top" else _record_choice(value or "-", spec)


@router.post("/goals/{id_goal}/move")
def move_goal(
    id_goal: str,
    request: Request,
    actor: PageActor,
    id_goal_parent: FormText = "",
    etag: FormText = "",
) -> Response:
    def build() -> Response:
        goal_id = _record_id(id_goal)
        student_id = _goal_student(actor, goal_id)
        form = f"goal-{goal_id}-move"
        fields = {"id_goal_parent": FieldSpec(f"{form}-parent", "New place", "Choose a new place.")}
        values = {"id_goal_parent": id_goal_parent}

        def change() -> tuple[str, str]:
            parent = _parent_choice(id_goal_parent, fields["id_goal_parent"])
            body = _validated(GoalUpdate, fields, values, {"id_goal_parent": parent})
            goal = goals.update_goal(actor, goal_id, body, etag[:200] or None)
            return f"Goal \u201c{goal.title}\u201d moved.", _student_path(student_id) + "#goals"

        return _submit(
            request,
            actor,
            state=FormState(form, values),
            fields=fields,
            change=change,
            again=_tree_again(request, actor, student_id, goal_id),
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


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

    def build() -> Response:
        student_id = _record_id(id_student)
        values = {"id_goal": id_goal, "id_goal_parent": id_goal_parent}
        moved: list[int] = []

        def change() -> tuple[str, str]:
            goal_spec = _TREE_MOVE_FIELDS["id_goal"]
            goal_id = _record_choice(id_goal or "-", goal_spec)
            assert goal_id is not None
            parent = _parent_choice(id_goal_parent, _TREE_MOVE_FIELDS["id_goal_parent"])
            body = _validated(GoalUpdate, _TREE_MOVE_FIELDS, values, {"id_goal_parent": parent})
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
            return f"Goal \u201c{goal.title}\u201d moved.", _student_path(student_id) + "#goals"

        def again(failed: FormState | None, message: str | None) -> Response:
            focus = moved[0] if moved else None
            return _tree_again(request, actor, student_id, focus)(failed, message)

        return _submit(
            request,
            actor,
            state=FormState("goal-move", values),
            fields=_TREE_MOVE_FIELDS,
            change=change,
            again=again,
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


# Progress: the quick "log progress" form; with htmx it answers the timeline.


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
        student_id = _record_id(id_student)
        values = {"content": content, "id_goal": id_goal, "is_sensitive": is_sensitive}

        def change() -> tuple[str, str]:
            body = _validated(
                ProgressEventInput,
                _EVENT_FIELDS,
                values,
                {
                    "content": _text(content),
                    "id_goal": _record_choice(id_goal, _EVENT_FIELDS["id_goal"]),
                    "is_sensitive": _checkbox(is_sensitive, _EVENT_FIELDS["is_sensitive"]),
                },
            )
            progress_events.create_event(actor, student_id, body)
            return "Progress logged.", _student_path(student_id) + "#progress"

        def again(failed: FormState | None, message: str | None) -> Response:
            if not _is_htmx(request):
                return _student_page(request, actor, student_id, failed)
            # The tree only titles the timeline and fills the form's goal choices here.
            tree = _tree_context(actor, student_id, audited=False)
            progress = _progress_context(actor, student_id, None)
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
                "authors": _user_names(actor, (event.id_user_created for event in events)),
                "failed": failed,
                "message": message,
                "fragment": True,
            }
            return render(request, "staff/progress_fragment.html", context)

        return _submit(
            request,
            actor,
            state=FormState("log", values),
            fields=_EVENT_FIELDS,
            change=change,
            again=again,
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


_NOTE_FIELDS = {"content": FieldSpec("note-content", "Note", "Write the note.")}


@router.post(STUDENTS_PATH + "/{id_student}/health-notes")
def add_health_note(
    id_student: str, request: Request, actor: PageActor, content: FormText = ""
) -> Response:
    def build() -> Response:
        student_id = _record_id(id_student)
        values = {"content": content}

        def change() -> tuple[str, str]:
            body = _validated(HealthNoteInput, _NOTE_FIELDS, values, {"content": _text(content)})
            health_notes.create_note(actor, note_cipher(request), student_id, body)
            return "Health note added.", _student_path(student_id) + "#health"

        return _submit(
            request,
            actor,
            state=FormState("note", values),
            fields=_NOTE_FIELDS,
            change=change,
            again=lambda failed, _message: _student_page(request, actor, student_id, failed),
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


def _period_fields(form: str) -> dict[str, FieldSpec]:
    return {
        name: FieldSpec(f"{form}-{spec.element}", spec.label, spec.empty)
        for name, spec in _PERIOD_FIELDS.items()
    }


@router.post(STUDENTS_PATH + "/{id_student}/progress-reports")
def draft_student_reports(
    id_student: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    def build() -> Response:
        student_id = _record_id(id_student)
        fields = _period_fields("student-reports")
        values = {"period": period, "year": year}

        def change() -> tuple[str, str]:
            result = _generate(actor, app_settings(request), values, fields, id_student=student_id)
            return _generation_message(result), _student_path(student_id) + "#reports"

        return _submit(
            request,
            actor,
            state=FormState("student-reports", values),
            fields=fields,
            change=change,
            again=lambda failed, _message: _student_page(request, actor, student_id, failed),
            page=_student_path(student_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


# -- /goals/{id} --------------------------------------------------------------------------


def _descendants(tree: GoalTree, id_goal: int) -> list[Goal]:
    if id_goal not in tree.spans:
        return []
    first, end = tree.spans[id_goal]
    return [goal for goal, _depth in tree.order[first + 1 : end]]


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
    below = _descendants(tree, id_goal)
    parent = tree.goals.get(goal.id_goal_parent) if goal.id_goal_parent else None
    today = _today(actor)
    year_text = _query(request, "year")
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
        "identifier": _student_identifier(actor, id_student),
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
        **_period_choices(settings, today),
    }
    context["current_period"], context["current_year"] = current_period(settings, today)
    authors: set[int | None] = set()
    if authz.can_on_student("progress_event", "read", id_student):
        events_cursor = _cursor(request, "events")
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
    context["authors"] = _user_names(actor, authors)
    return context


def _goal_page(
    request: Request, actor: Actor, id_goal: int, failed: FormState | None = None
) -> Response:
    context = _goal_context(request, actor, id_goal)
    context["failed"] = failed
    if failed is not None:
        context["errors"] = failed.errors
        context["form_error"] = failed.form_error
    return render(
        request,
        "staff/goal.html",
        context,
        status_code=failed.status_code if failed is not None else 200,
    )


@router.get("/goals/{id_goal}")
def goal_page(id_goal: str, request: Request, actor: PageActor) -> Response:
    return _guarded(
        request,
        actor.db,
        STUDENTS_PATH,
        lambda: _goal_page(request, actor, _record_id(id_goal)),
    )


@router.post("/goals/{id_goal}/progress-reports")
def draft_goal_report(
    id_goal: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    def build() -> Response:
        goal_id = _record_id(id_goal)
        fields = _period_fields("goal-report")
        values = {"period": period, "year": year}

        def change() -> tuple[str, str]:
            result = _generate(actor, app_settings(request), values, fields, id_goal=goal_id)
            location = (
                f"/progress-reports/{result.ids[0]}"
                if len(result.ids) == 1
                else f"/goals/{goal_id}#reports"
            )
            return _generation_message(result), location

        return _submit(
            request,
            actor,
            state=FormState("goal-report", values),
            fields=fields,
            change=change,
            again=lambda failed, _message: _goal_page(request, actor, goal_id, failed),
            page=f"/goals/{goal_id}",
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


# -- /progress-reports/{id} -----------------------------------------------------------


def _report_context(request: Request, actor: Actor, id_report: int) -> dict[str, Any]:
    settings = app_settings(request)
    report = progress_reports.get_report(actor, id_report)
    authz = actor.authz
    goal_title = None
    root_goal = False
    if report.id_goal is not None:
        found = actor.db.execute(
            select(Goal.title, Goal.id_goal_parent).where(
                Goal.id_goal == report.id_goal, authz.readable("goal")
            )
        ).one_or_none()
        if found is not None:
            goal_title, root_goal = found.title, found.id_goal_parent is None
    may_update = authz.allowed_on(ProgressReport, id_report, progress_reports.RESOURCE, "update")
    dates: tuple[date, date] | None = None
    if report.period and report.year is not None:
        try:
            dates = period_dates(
                settings,
                report.period,
                report.year,
                session=actor.db,
                id_school_district=district_of_student(actor.db, report.id_student),
            )
        except ValidationFailed:
            dates = None  # a period no longer configured: shown by name only
    final = report.finalized_at is not None
    return {
        "report": report,
        "final": final,
        "goal_title": goal_title,
        "identifier": _student_identifier(actor, report.id_student),
        "dates": dates,
        "year_label": school_year_label(report.year) if report.year is not None else None,
        "may_edit": may_update and not final,
        "may_finalise": may_update and not final,
        "may_reopen": may_update
        and final
        and actor.grants.holds(progress_reports.RESOURCE, "update", progress_reports.REOPEN_SCOPE),
        "may_redraft": may_update
        and not final
        and root_goal
        and report.id_student is not None
        and authz.can_on_student(progress_reports.RESOURCE, "create", report.id_student),
        "authors": _user_names(actor, [report.id_user_created, report.id_user_finalized]),
    }


def _report_page(
    request: Request, actor: Actor, id_report: int, failed: FormState | None = None
) -> Response:
    context = _report_context(request, actor, id_report)
    context["failed"] = failed
    if failed is not None:
        context["errors"] = failed.errors
        context["form_error"] = failed.form_error
    return render(
        request,
        "staff/report.html",
        context,
        status_code=failed.status_code if failed is not None else 200,
    )


def _report_path(id_report: int) -> str:
    return f"/progress-reports/{id_report}"


@router.get("/progress-reports/{id_report}")
def report_page(id_report: str, request: Request, actor: PageActor) -> Response:
    return _guarded(
        request,
        actor.db,
        STUDENTS_PATH,
        lambda: _report_page(request, actor, _record_id(id_report)),
    )


_SUMMARY_FIELDS = {"summary": FieldSpec("summary", "Summary", "Write the summary.")}


@router.post("/progress-reports/{id_report}")
def edit_report(
    id_report: str, request: Request, actor: PageActor, summary: FormText = ""
) -> Response:
    def build() -> Response:
        report_id = _record_id(id_report)
        values = {"summary": summary}

        def change() -> tuple[str, str]:
            text = _text(summary)
            if not text.strip():
                # The API accepts an empty summary; a page that saves one by accident
                # would leave a family's report blank.
                raise FormInvalid({"summary": [_SUMMARY_FIELDS["summary"].empty]})
            body = _validated(ReportUpdate, _SUMMARY_FIELDS, values, {"summary": text})
            progress_reports.update_report(actor, report_id, body)
            return "The summary has been saved.", _report_path(report_id)

        return _submit(
            request,
            actor,
            state=FormState("summary", values),
            fields=_SUMMARY_FIELDS,
            change=change,
            again=lambda failed, _message: _report_page(request, actor, report_id, failed),
            page=_report_path(report_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


def _report_action(
    request: Request,
    actor: Actor,
    id_report: str,
    form: str,
    act: Callable[[int], str],
) -> Response:
    def build() -> Response:
        report_id = _record_id(id_report)
        return _submit(
            request,
            actor,
            state=FormState(form, {}),
            fields={},
            change=lambda: (act(report_id), _report_path(report_id)),
            again=lambda failed, _message: _report_page(request, actor, report_id, failed),
            page=_report_path(report_id),
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)


@router.post("/progress-reports/{id_report}/finalize")
def finalise_report(id_report: str, request: Request, actor: PageActor) -> Response:
    def act(report_id: int) -> str:
        progress_reports.finalize_report(actor, report_id)
        return "The report is final. It is read-only unless a coordinator reopens it."

    return _report_action(request, actor, id_report, "finalise", act)


@router.post("/progress-reports/{id_report}/reopen")
def reopen_report(id_report: str, request: Request, actor: PageActor) -> Response:
    def act(report_id: int) -> str:
        progress_reports.reopen_report(actor, report_id)
        return "The report has been reopened and can be edited again."

    return _report_action(request, actor, id_report, "reopen", act)


@router.post("/progress-reports/{id_report}/regenerate")
def redraft_report(id_report: str, request: Request, actor: PageActor) -> Response:
    def act(report_id: int) -> str:
        # Looked up for its goal and period; the redraft itself is what is audited.
        report = progress_reports.get_report(actor, report_id, audited=False)
        if report.id_goal is None or report.period is None or report.year is None:
            raise ValidationFailed("This report has no goal or period to draft from.")
        result = generate_reports(
            actor.authz,
            app_settings(request),
            period=report.period,
            year=report.year,
            id_goal=report.id_goal,
            now=actor.info.now,
        )
        return _generation_message(result)

    return _report_action(request, actor, id_report, "redraft", act)


# -- /programs/{id}/report-status --------------------------------------------------------


def _board_path(id_program: int, period: str, year: int | str) -> str:
    query = urlencode({"period": period, "year": str(year)})
    return f"/programs/{id_program}/report-status?{query}"


def _board_page(
    request: Request,
    actor: Actor,
    id_program: int,
    failed: FormState | None = None,
    *,
    period: str | None = None,
    year_text: str | None = None,
) -> Response:
    settings = app_settings(request)
    program = actor.authz.fetch(Program, id_program, "program")
    today = _today(actor)
    default_period, default_year = current_period(settings, today)
    period = period if period is not None else default_period
    year_text = year_text if year_text is not None else str(default_year)
    fields = _period_fields("board")
    context: dict[str, Any] = {
        "program": program,
        "period": period,
        "year_text": year_text,
        "board": None,
        "failed": failed,
        "can_generate": actor.grants.allows(progress_reports.RESOURCE, "create"),
    }
    year: int | None = None
    status = failed.status_code if failed is not None else 200
    errors: dict[str, list[str]] = dict(failed.errors) if failed is not None else {}
    form_error = failed.form_error if failed is not None else None
    if year_text.isascii() and year_text.isdigit() and len(year_text) <= 4:
        year = int(year_text)
    else:
        errors.setdefault(fields["year"].element, ["Choose a school year from the list."])
        status = 422
    if len(period) > MAX_NAME_LENGTH or not period or not _printable(period):
        # Not a period any setting can name: refused before it reaches a message.
        errors.setdefault(fields["period"].element, ["Choose a period from the list."])
        context["period"] = ""
        status = 422
        year = None
    if year is not None:
        try:
            context["board"] = progress_reports.status_board(
                actor, settings, id_program, period, year
            )
        except ValidationFailed as error:
            board_errors, board_error = _service_refusal(error, fields)
            for element, messages in board_errors.items():
                errors.setdefault(element, messages)
            form_error = form_error or board_error
            status = 422
    context.update(
        errors=errors,
        form_error=form_error,
        labels={spec.element: spec.label for spec in fields.values()},
        year_label=school_year_label(year) if year is not None and context["board"] else None,
        **_period_choices(settings, today, year),
    )
    return render(request, "staff/board.html", context, status_code=status)


@router.get("/programs/{id_program}/report-status")
def board_page(id_program: str, request: Request, actor: PageActor) -> Response:
    def build() -> Response:
        period = request.query_params.get("period")
        year_text = request.query_params.get("year")
        return _board_page(
            request, actor, _record_id(id_program), period=period, year_text=year_text
        )

    return _guarded(request, actor.db, REPORTS_PATH, build)


@router.post("/programs/{id_program}/report-status")
def draft_program_reports(
    id_program: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    def build() -> Response:
        program_id = _record_id(id_program)
        fields = _period_fields("board")
        values = {"period": period, "year": year}

        def change() -> tuple[str, str]:
            result = _generate(actor, app_settings(request), values, fields, id_program=program_id)
            return _generation_message(result), _board_path(program_id, period, year)

        def again(failed: FormState | None, _message: str | None) -> Response:
            return _board_page(request, actor, program_id, failed, period=period, year_text=year)

        return _submit(
            request,
            actor,
            state=FormState("board", values),
            fields=fields,
            change=change,
            again=again,
            page=f"/programs/{program_id}/report-status",
        )

    return _guarded(request, actor.db, REPORTS_PATH, build)


# -- /reports ---------------------------------------------------------------------------


@router.get(REPORTS_PATH)
def reports_index(request: Request, actor: PageActor) -> Response:
    def build() -> Response:
        settings = app_settings(request)
        period, year = current_period(settings, _today(actor))
        readable_reports = actor.grants.allows(progress_reports.RESOURCE, "read")
        programs = (
            list(
                actor.db.scalars(
                    actor.authz.scoped(select(Program), "program")
                    .order_by(Program.name, Program.id_program)
                    .limit(MAX_LIMIT)
                )
            )
            if readable_reports
            else []
        )
        return render(
            request,
            "staff/reports_index.html",
            {
                "programs": programs,
                "readable_reports": readable_reports,
                "period": period,
                "year": year,
                "year_label": school_year_label(year),
            },
            status_code=200 if readable_reports else 403,
        )

    return _guarded(request, actor.db, STUDENTS_PATH, build)
