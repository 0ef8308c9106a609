"""Drafting progress reports from logged progress (SPEC section 8).

One report per root goal of each student in scope, for one period; a root goal's report
summarises the events of the goal and of all its sub-goals. Sensitive events are never
read here, whatever the user's rights: a report is written for families.

The work is a fixed number of statements whatever the number of students (a program of
500 costs what a program of 3 does): the goals of every student in scope, the period's
events of those students, their existing reports and who wrote their texts, then one
executemany each for the replaced texts (revisions), the new reports, the redrafted ones
and their audit rows, and one query for the new ids.

A draft whose text staff edited is left as it is unless the caller says to replace it
(`replace_edited`, after asking the person): drafting again never replaces a person's
words without asking, and what it replaces is kept as a revision (SPEC section 14).
Which students and goals count is decided in SQL by the user's `progress_report:create`
and `goal:read` scopes; nothing is loaded to be dropped in Python.

`generate_reports` takes an Authorizer rather than a request, so the command line runs
it as a given user exactly as the API does. `redraft_reports` writes chosen drafts again
from the same summary, for when an event they quoted may no longer be shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goalpath.authz.service import Authorizer, Bindings
from goalpath.config import Settings
from goalpath.errors import Conflict, Forbidden, ValidationFailed
from goalpath.goals.tree import nearest_above, report_roots
from goalpath.models import Goal, Program, ProgressEvent, ProgressReport, Student
from goalpath.progress_reports import revisions
from goalpath.progress_reports.periods import (
    district_of_program,
    district_of_student,
    period_range,
)
from goalpath.progress_reports.schemas import GenerationResult
from goalpath.progress_reports.service import RESOURCE, AuditEntry, record_audit_rows

MAX_EXCERPTS = 3
MAX_EXCERPT = 160
# Enough of each event to make a 160-character excerpt after collapsing whitespace,
# without carrying long notes over the wire.
_CONTENT_PREFIX = 640
_ELLIPSIS = "\u2026"
_CREATED_FIELDS = ["generated_at", "id_goal", "id_student", "period", "summary", "year"]
_REDRAFTED_FIELDS = ["generated_at", "summary"]


@dataclass(frozen=True)
class EventLine:
    id_goal: int
    created_at: datetime
    content: str


@dataclass
class RootGoal:
    id_goal: int
    id_student: int
    sub_goals: int = 0
    events: list[EventLine] = field(default_factory=list)


@dataclass(frozen=True)
class Redraft:
    """A draft to write again: which report, the goal and period it summarises, and
    the text it holds now."""

    id_progress_report: int
    id_student: int
    id_goal: int
    period: str
    year: int
    text: revisions.ReportText


def excerpt(content: str) -> str:
    """One line of at most MAX_EXCERPT characters."""
    text = " ".join(content.split())
    if len(text) <= MAX_EXCERPT:
        return text
    return text[: MAX_EXCERPT - 1].rstrip() + _ELLIPSIS


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def draft_summary(root: RootGoal, first_day: date, last_day: date) -> str:
    """Counts, first and last dates and the most recent excerpts; `root.events` newest
    first."""
    span = f"between {first_day.isoformat()} and {last_day.isoformat()}"
    events = root.events
    if not events:
        where = "this goal or its sub-goals" if root.sub_goals else "this goal"
        return f"No progress was logged for {where} {span}."
    total = _plural(len(events), "progress note was", "progress notes were")
    sentence = f"{total} logged for this goal {span}"
    if root.sub_goals:
        own = sum(1 for event in events if event.id_goal == root.id_goal)
        sentence += (
            f" ({_plural(own, 'note', 'notes')} on the goal itself and "
            f"{len(events) - own} on its sub-goals)"
        )
    first, last = events[-1].created_at.date(), events[0].created_at.date()
    if first == last:
        sentence += f", on {first.isoformat()}."
    else:
        sentence += f"; the first on {first.isoformat()} and the last on {last.isoformat()}."
    lines = [sentence, "", "Most recent notes:" if len(events) > 1 else "The note:"]
    for event in events[:MAX_EXCERPTS]:
        lines.append(f"- {event.created_at.date().isoformat()}: {excerpt(event.content)}")
    return "\n".join(lines)


def _not_sensitive() -> ColumnElement[bool]:
    return or_(ProgressEvent.is_sensitive.is_(None), ProgressEvent.is_sensitive.is_(False))


def _write_redrafts(session: Session, redrafts: list[dict[str, Any]], moment: datetime) -> None:
    """New summaries for drafts, in one executemany; a report finalised meanwhile is left
    alone (its row is locked by the caller, so this is a last guard)."""
    table = cast(Table, ProgressReport.__table__)
    session.execute(
        update(table)
        .where(
            table.c.id_progress_report == bindparam("report_id"),
            table.c.finalized_at.is_(None),
        )
        .values(summary=bindparam("new_summary"), generated_at=moment),
        redrafts,
    )


def _roots(goals: Sequence[Any], only: int | None) -> tuple[dict[int, RootGoal], dict[int, int]]:
    """The root goals to report on (all, or only `only`) and each goal's root."""
    root_of = report_roots({goal.id_goal: goal.id_goal_parent for goal in goals})
    roots = {
        goal.id_goal: RootGoal(goal.id_goal, goal.id_student)
        for goal in goals
        if goal.id_goal_parent is None and (only is None or goal.id_goal == only)
    }
    for id_goal, id_root in root_of.items():
        if id_goal != id_root and id_root in roots:
            roots[id_root].sub_goals += 1
    return roots, root_of


def _students_in_scope(authz: Authorizer, target: Any) -> Any:
    """The students whose reports the user may create (and whom they may read)."""
    may_create = authz.condition(
        RESOURCE,
        "create",
        Bindings(
            id_student=Student.id_student,
            id_program=Student.id_program,
            created_by=literal(authz.id_user),
        ),
    )
    return select(Student.id_student).where(target, authz.readable("student"), may_create)


def _resolve_target(
    authz: Authorizer,
    *,
    id_goal: int | None,
    id_student: int | None,
    id_program: int | None,
) -> Any:
    """The students' filter for the target, after the checks a single record gets:
    404 outside the read scope, 403 without the right to create reports there."""
    if sum(value is not None for value in (id_goal, id_student, id_program)) != 1:
        raise ValidationFailed(
            "Give exactly one of id_goal, id_student or id_program.",
            errors=[{"field": "id_goal", "message": "Exactly one target is needed."}],
        )
    if id_program is not None:
        authz.fetch(Program, id_program, "program")
        if not authz.grants.allows(RESOURCE, "create"):
            authz.deny("create", RESOURCE, None, None, "forbidden")
            raise Forbidden("You may not create progress reports.")
        return Student.id_program == id_program
    if id_student is not None:
        authz.require_on_student(RESOURCE, "create", id_student)
        return Student.id_student == id_student
    assert id_goal is not None
    goal = authz.fetch(Goal, id_goal, "goal")
    if goal.id_goal_parent is not None:
        raise ValidationFailed(
            "Reports are written for root goals; a sub-goal's progress is part of its root "
            f"goal's report (this goal's parent is goal {goal.id_goal_parent}).",
            errors=[{"field": "id_goal", "message": "A sub-goal; give its root goal."}],
        )
    assert goal.id_student is not None
    authz.require_on_student(RESOURCE, "create", goal.id_student)
    return Student.id_student == goal.id_student


def _district_of_target(
    session: Session, id_goal: int | None, id_student: int | None, id_program: int | None
) -> int | None:
    """Whose imported periods apply; the target was resolved (and checked) already."""
    if id_program is not None:
        return district_of_program(session, id_program)
    if id_goal is not None:
        id_student = session.scalar(select(Goal.id_student).where(Goal.id_goal == id_goal))
    return district_of_student(session, id_student)


def generate_reports(
    authz: Authorizer,
    settings: Settings,
    *,
    period: str,
    year: int,
    id_goal: int | None = None,
    id_student: int | None = None,
    id_program: int | None = None,
    now: datetime | None = None,
    replace_edited: bool = False,
) -> GenerationResult:
    """Draft (or redraft) the period's reports for one goal, one student or a program.

    Flushes, never commits: the caller owns the transaction. Final reports are left
    untouched, and so are drafts the user may not change and, unless `replace_edited`,
    drafts whose text staff edited."""
    session = authz.session
    moment = now or authz.audit.now
    target = _resolve_target(authz, id_goal=id_goal, id_student=id_student, id_program=id_program)
    start, end = period_range(
        settings,
        period,
        year,
        session=session,
        id_school_district=_district_of_target(session, id_goal, id_student, id_program),
    )
    in_scope = _students_in_scope(authz, target)

    goals = session.execute(
        select(Goal.id_goal, Goal.id_goal_parent, Goal.id_student)
        .where(Goal.id_student.in_(in_scope), authz.readable("goal"))
        .order_by(Goal.id_goal)
    ).all()
    roots, root_of = _roots(goals, id_goal)

    events = session.execute(
        select(
            ProgressEvent.id_goal,
            ProgressEvent.created_at,
            func.substr(ProgressEvent.content, 1, _CONTENT_PREFIX).label("content"),
        )
        .where(
            ProgressEvent.id_student.in_(in_scope),
            ProgressEvent.created_at >= start,
            ProgressEvent.created_at < end,
            _not_sensitive(),
            authz.readable("progress_event"),
        )
        .order_by(ProgressEvent.created_at.desc(), ProgressEvent.id_progress_event.desc())
    ).all()
    for event in events:
        id_root = root_of.get(event.id_goal)
        if id_root is not None and id_root in roots and event.created_at is not None:
            roots[id_root].events.append(
                EventLine(event.id_goal, event.created_at, event.content or "")
            )

    changeable = and_(authz.condition(RESOURCE, "update"), authz.readable(RESOURCE))
    existing_statement = (
        select(
            ProgressReport.id_progress_report,
            ProgressReport.id_goal,
            ProgressReport.finalized_at,
            ProgressReport.summary,
            ProgressReport.generated_at,
            ProgressReport.id_user_created,
            case((changeable, 1), else_=0).label("changeable"),
        )
        .where(
            ProgressReport.id_student.in_(in_scope),
            ProgressReport.period == period,
            ProgressReport.year == year,
        )
        # Held until the caller commits, so a report finalised meanwhile waits for
        # this redraft instead of being overwritten after it.
        .with_for_update()
    )
    if id_goal is not None:
        existing_statement = existing_statement.where(ProgressReport.id_goal == id_goal)
    existing = {row.id_goal: row for row in session.execute(existing_statement).all()}
    texts = {
        row.id_progress_report: revisions.ReportText(
            row.id_progress_report, row.summary, row.generated_at, row.id_user_created
        )
        for row in existing.values()
        if row.finalized_at is None and row.changeable
    }
    writer_of = revisions.writers(session, list(texts.values()))

    first_day, last_day = start.date(), (end - timedelta(days=1)).date()
    new_rows: list[dict[str, Any]] = []
    redrafts: list[dict[str, Any]] = []
    redrafted: list[tuple[int, int]] = []
    replaced: list[revisions.Replaced] = []
    skipped_final = skipped_forbidden = skipped_edited = 0
    for root in roots.values():
        summary = draft_summary(root, first_day, last_day)
        report = existing.get(root.id_goal)
        if report is None:
            new_rows.append(
                {
                    "id_student": root.id_student,
                    "id_goal": root.id_goal,
                    "id_user_created": authz.id_user,
                    "period": period,
                    "year": year,
                    "summary": summary,
                    "generated_at": moment,
                }
            )
        elif report.finalized_at is not None:
            skipped_final += 1
        elif not report.changeable:
            skipped_forbidden += 1
        elif writer_of[report.id_progress_report].staff_edited and not replace_edited:
            skipped_edited += 1
        else:
            redrafts.append({"report_id": report.id_progress_report, "new_summary": summary})
            redrafted.append((report.id_progress_report, root.id_student))
            if report.summary != summary:
                replaced.append(
                    revisions.Replaced(
                        report.id_progress_report,
                        report.summary or "",
                        writer_of[report.id_progress_report],
                    )
                )

    revisions.keep(
        session, replaced, reason=revisions.DRAFTED_AGAIN, id_user=authz.id_user, at=moment
    )
    if redrafts:
        _write_redrafts(session, redrafts, moment)
    created: list[tuple[int, int]] = []
    if new_rows:
        try:
            session.execute(insert(ProgressReport), new_rows)
        except IntegrityError as error:
            raise Conflict(
                "Some of these reports were created meanwhile (another generation ran at "
                "the same time); run the generation again."
            ) from error
        new_goals = {row["id_goal"] for row in new_rows}
        ids_statement = select(
            ProgressReport.id_progress_report, ProgressReport.id_goal, ProgressReport.id_student
        ).where(
            ProgressReport.id_student.in_(in_scope),
            ProgressReport.period == period,
            ProgressReport.year == year,
        )
        if id_goal is not None:
            ids_statement = ids_statement.where(ProgressReport.id_goal == id_goal)
        created = [
            (row.id_progress_report, row.id_student)
            for row in session.execute(ids_statement).all()
            if row.id_goal in new_goals
        ]

    details = {"period": period, "year": year, "generated": True}
    record_audit_rows(
        authz.audit,
        [
            AuditEntry(
                "create",
                RESOURCE,
                record_id=id_report,
                id_student=id_of_student,
                details={**details, "fields": _CREATED_FIELDS},
            )
            for id_report, id_of_student in created
        ]
        + [
            AuditEntry(
                "update",
                RESOURCE,
                record_id=id_report,
                id_student=id_of_student,
                details={**details, "fields": _REDRAFTED_FIELDS},
            )
            for id_report, id_of_student in redrafted
        ],
    )
    return GenerationResult(
        created=len(created),
        updated=len(redrafted),
        skipped_final=skipped_final,
        skipped_forbidden=skipped_forbidden,
        skipped_edited=skipped_edited,
        ids=sorted(id_report for id_report, _ in created + redrafted),
    )


def redraft_reports(
    authz: Authorizer, settings: Settings, drafts: Sequence[Redraft], *, now: datetime
) -> None:
    """Write `drafts` again from their periods' events, as `generate_reports` would.

    Whatever the user's own report rights: this runs when an event the drafts may quote
    has just been marked sensitive (SPEC section 14), and a quote must not stay behind
    in a draft the person who marked it may not edit. The goals and events are read on
    the user's read conditions, as every drafting is, and sensitive events never. The
    caller has locked the rows, checked that they are drafts and audits the change.

    The texts replaced are kept as revisions, withheld: they may quote the event.
    Three queries and two executemany, whatever the number of drafts."""
    if not drafts:
        return
    session = authz.session
    students = sorted({draft.id_student for draft in drafts})
    districts: dict[int, int | None] = {
        row.id_student: row.id_school_district
        for row in session.execute(
            select(Student.id_student, Program.id_school_district)
            .join(Program, Program.id_program == Student.id_program)
            .where(Student.id_student.in_(students))
        )
    }
    ranges = {
        (draft.id_student, draft.period, draft.year): period_range(
            settings,
            draft.period,
            draft.year,
            session=session,
            id_school_district=districts.get(draft.id_student),
        )
        for draft in drafts
    }
    parent_of: dict[int, int | None] = {
        row.id_goal: row.id_goal_parent
        for row in session.execute(
            select(Goal.id_goal, Goal.id_goal_parent).where(
                Goal.id_student.in_(students), authz.readable("goal")
            )
        )
    }
    # A report's goal is a root when it is drafted, yet may have been moved under
    # another goal since: its report still covers its own subtree.
    target_of = nearest_above(parent_of, {draft.id_goal for draft in drafts})
    events = session.execute(
        select(
            ProgressEvent.id_goal,
            ProgressEvent.created_at,
            func.substr(ProgressEvent.content, 1, _CONTENT_PREFIX).label("content"),
        )
        .where(
            ProgressEvent.id_student.in_(students),
            ProgressEvent.created_at >= min(start for start, _ in ranges.values()),
            ProgressEvent.created_at < max(end for _, end in ranges.values()),
            _not_sensitive(),
            authz.readable("progress_event"),
        )
        .order_by(ProgressEvent.created_at.desc(), ProgressEvent.id_progress_event.desc())
    ).all()
    redrafts: list[dict[str, Any]] = []
    replaced: list[revisions.Replaced] = []
    writer_of = revisions.writers(session, [draft.text for draft in drafts])
    for draft in drafts:
        start, end = ranges[(draft.id_student, draft.period, draft.year)]
        root = RootGoal(
            draft.id_goal,
            draft.id_student,
            sub_goals=sum(
                1
                for id_goal, target in target_of.items()
                if target == draft.id_goal and id_goal != draft.id_goal
            ),
        )
        root.events = [
            EventLine(event.id_goal, event.created_at, event.content or "")
            for event in events
            if event.id_goal is not None
            and event.created_at is not None
            and target_of.get(event.id_goal) == draft.id_goal
            and start <= event.created_at < end
        ]
        summary = draft_summary(root, start.date(), (end - timedelta(days=1)).date())
        redrafts.append({"report_id": draft.id_progress_report, "new_summary": summary})
        if draft.text.summary != summary:
            replaced.append(
                revisions.Replaced(
                    draft.id_progress_report,
                    draft.text.summary or "",
                    writer_of[draft.id_progress_report],
                )
            )
    revisions.keep(
        session,
        replaced,
        reason=revisions.EVENT_MARKED_SENSITIVE,
        id_user=authz.id_user,
        at=now,
        withheld=revisions.EVENT_MARKED_SENSITIVE,
    )
    _write_redrafts(session, redrafts, now)
