"""Progress reports: one root goal of one student for one period (SPEC section 8).

A report is a draft until it is finalised; a final report is read-only (no edit, no
delete, no regeneration) until someone with progress_report:update at program scope or
wider reopens it. Every change is written with a guard on `finalized_at` in its WHERE
clause, so a concurrent finalisation is never overwritten by an edit that read the
report a moment before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from goalpath.audit.service import ALLOWED, AuditTrail
from goalpath.authz.actor import Actor
from goalpath.authz.service import Bindings
from goalpath.config import Settings
from goalpath.errors import Conflict, Forbidden
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import AuditEvent, Goal, Program, ProgressReport, Student
from goalpath.progress_reports import revisions
from goalpath.progress_reports.periods import district_of_program, period_dates
from goalpath.progress_reports.schemas import (
    GoalStatus,
    ReportStatusBoard,
    ReportUpdate,
    Status,
    StatusTotals,
    StudentStatus,
)

RESOURCE = "progress_report"
# Reopening undoes a sign-off, so it is kept to those who oversee a whole program:
# coordinators, district and system administrators in the default roles.
REOPEN_SCOPE = "program"
# A report that may quote an event later marked sensitive waits for a person to check
# its text (SPEC section 14); until then an export shows this sentence in its place.
REVIEW_EVENT_SENSITIVE = "event_marked_sensitive"
REVIEW_NOTICE = "This report is being reviewed and will be shared when ready."


def shareable_summary(summary: str | None, review_requested_at: datetime | None) -> str | None:
    """The text an export may carry: the summary, or the notice while a review is due."""
    return REVIEW_NOTICE if review_requested_at is not None else summary


# -- audit rows in bulk -------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    action: str
    resource: str
    record_id: int | str | None = None
    id_student: int | None = None
    details: dict[str, Any] | None = None


def record_audit_rows(audit: AuditTrail, entries: Sequence[AuditEntry]) -> None:
    """Allowed actions on many records, written with one executemany in the request's
    transaction.

    `AuditTrail.record` issues one INSERT per call, which would make a program-wide
    generation or export cost one statement per report. The rows have exactly the shape
    `AuditTrail._row` gives them (same columns, same JSON encoding of `details`)."""
    if not entries:
        return
    rows = [
        {
            "occurred_at": audit.now,
            "id_user": audit.id_user,
            "ip": audit.ip,
            "action": entry.action,
            "resource": entry.resource,
            "record_id": None if entry.record_id is None else str(entry.record_id),
            "id_student": entry.id_student,
            "outcome": ALLOWED,
            "details": (
                json.dumps(entry.details, sort_keys=True, default=str) if entry.details else None
            ),
        }
        for entry in entries
    ]
    audit.session.execute(insert(AuditEvent), rows)
    audit.written.extend(rows)


# -- reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    period: str | None = None
    year: int | None = None
    id_goal: int | None = None


def list_reports(
    actor: Actor,
    id_student: int,
    filters: ReportFilters,
    page: PageRequest,
    *,
    audited: bool = True,
) -> tuple[list[ProgressReport], str | None]:
    """A page of the student's reports, recorded as one read naming the reports shown.

    `audited=False` is for a caller whose own row already covers the request: a page
    whose main record was read and recorded first, or an export."""
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    statement = actor.authz.scoped(
        select(ProgressReport).where(ProgressReport.id_student == id_student), RESOURCE
    )
    if filters.period is not None:
        statement = statement.where(ProgressReport.period == filters.period)
    if filters.year is not None:
        statement = statement.where(ProgressReport.year == filters.year)
    if filters.id_goal is not None:
        statement = statement.where(ProgressReport.id_goal == filters.id_goal)
    reports, next_cursor = keyset_page(
        actor.db, statement, [ProgressReport.id_progress_report.expression], page
    )
    if audited:
        # One row for the page, as for health notes: the ids say exactly what was shown.
        actor.audit.record(
            "read",
            RESOURCE,
            id_student=id_student,
            details={"id_progress_report": [report.id_progress_report for report in reports]},
        )
    return reports, next_cursor


def get_report(actor: Actor, id_progress_report: int, *, audited: bool = True) -> ProgressReport:
    """One report, its read recorded (SPEC section 6). `audited=False` is for a caller
    that only looks the report up to act on it, and records that action instead."""
    report = actor.authz.fetch(ProgressReport, id_progress_report, RESOURCE)
    if audited:
        actor.audit.record(
            "read", RESOURCE, record_id=id_progress_report, id_student=report.id_student
        )
    return report


def _final_conflict(report: ProgressReport, doing: str) -> Conflict:
    return Conflict(
        f"This report was finalised on {report.finalized_at:%Y-%m-%d} and is read-only; "
        f"it must be reopened before it can be {doing}."
        if report.finalized_at is not None
        else f"This report was finalised meanwhile; it must be reopened before it can be {doing}."
    )


def _refresh(actor: Actor, report: ProgressReport) -> ProgressReport:
    actor.db.refresh(report)
    return report


def report_text(report: ProgressReport) -> revisions.ReportText:
    return revisions.ReportText(
        report.id_progress_report, report.summary, report.generated_at, report.id_user_created
    )


def update_report(actor: Actor, id_progress_report: int, body: ReportUpdate) -> ProgressReport:
    report = actor.authz.fetch(ProgressReport, id_progress_report, RESOURCE, "update")
    if report.finalized_at is not None:
        raise _final_conflict(report, "edited")
    changes = body.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(report, name) != value)
    if not changed:
        return report
    if "summary" in changed:
        # Kept before the change: the newest revision then says a person wrote the
        # text that replaces it, and drafting again will ask before replacing that.
        text = report_text(report)
        revisions.keep(
            actor.db,
            [
                revisions.Replaced(
                    id_progress_report,
                    report.summary or "",
                    revisions.writers(actor.db, [text])[id_progress_report],
                )
            ],
            reason=revisions.EDITED,
            id_user=actor.id_user,
            at=actor.info.now,
        )
    result = actor.db.execute(
        update(ProgressReport)
        .where(
            ProgressReport.id_progress_report == id_progress_report,
            ProgressReport.finalized_at.is_(None),
        )
        .values({name: changes[name] for name in changed})
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise _final_conflict(_refresh(actor, report), "edited")
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_progress_report,
        id_student=report.id_student,
        details={"fields": changed},
    )
    return _refresh(actor, report)


def delete_report(actor: Actor, id_progress_report: int) -> None:
    report = actor.authz.fetch(ProgressReport, id_progress_report, RESOURCE, "delete")
    if report.finalized_at is not None:
        raise _final_conflict(report, "deleted")
    id_student = report.id_student
    result = actor.db.execute(
        delete(ProgressReport)
        .where(
            ProgressReport.id_progress_report == id_progress_report,
            ProgressReport.finalized_at.is_(None),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise _final_conflict(_refresh(actor, report), "deleted")
    actor.db.expunge(report)
    actor.audit.record("delete", RESOURCE, record_id=id_progress_report, id_student=id_student)


def finalize_report(actor: Actor, id_progress_report: int) -> ProgressReport:
    report = actor.authz.fetch(ProgressReport, id_progress_report, RESOURCE, "update")
    if report.finalized_at is not None:
        raise Conflict(f"This report is already final (since {report.finalized_at:%Y-%m-%d}).")
    # Finalising is a person confirming the text as it stands, so it also settles a
    # review that was asked for (SPEC section 14).
    result = actor.db.execute(
        update(ProgressReport)
        .where(
            ProgressReport.id_progress_report == id_progress_report,
            ProgressReport.finalized_at.is_(None),
        )
        .values(
            finalized_at=actor.info.now,
            id_user_finalized=actor.id_user,
            review_reason=None,
            review_requested_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise Conflict("This report was finalised meanwhile.")
    fields = ["finalized_at", "id_user_finalized"]
    if report.review_requested_at is not None or report.review_reason is not None:
        fields += ["review_reason", "review_requested_at"]
    actor.audit.record(
        "finalize",
        RESOURCE,
        record_id=id_progress_report,
        id_student=report.id_student,
        details={"fields": fields},
    )
    return _refresh(actor, report)


def reopen_report(actor: Actor, id_progress_report: int) -> ProgressReport:
    report = actor.authz.fetch(ProgressReport, id_progress_report, RESOURCE, "update")
    if not actor.grants.holds(RESOURCE, "update", REOPEN_SCOPE):
        actor.authz.deny("reopen", RESOURCE, id_progress_report, report.id_student, "forbidden")
        raise Forbidden(
            "Only staff who may update the reports of a whole program (a coordinator or an "
            "administrator) can reopen a final report."
        )
    if report.finalized_at is None:
        raise Conflict("This report is not final; there is nothing to reopen.")
    result = actor.db.execute(
        update(ProgressReport)
        .where(
            ProgressReport.id_progress_report == id_progress_report,
            ProgressReport.finalized_at.is_not(None),
        )
        .values(finalized_at=None, id_user_finalized=None)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise Conflict("This report was reopened meanwhile.")
    actor.audit.record(
        "reopen",
        RESOURCE,
        record_id=id_progress_report,
        id_student=report.id_student,
        details={"fields": ["finalized_at", "id_user_finalized"]},
    )
    return _refresh(actor, report)


# -- per program: status board and export --------------------------------------------


def _require_report_reader(actor: Actor, id_program: int) -> None:
    """404 outside the program's read scope; 403 for a role that reads no reports."""
    actor.authz.fetch(Program, id_program, "program")
    actor.authz.require(RESOURCE, "read")


def _students_with_readable_reports(actor: Actor, id_program: int) -> Any:
    """Students of the program the user can read and whose reports they can read.

    The report condition is bound to the student alone (no author), so `own` report
    rights do not make a student appear: for a student, 'own' reports mean nothing."""
    report_condition = actor.authz.condition(
        RESOURCE,
        "read",
        Bindings(id_student=Student.id_student, id_program=Student.id_program),
    )
    return (
        select(Student.id_student)
        .where(Student.id_program == id_program, actor.authz.readable("student"))
        .where(report_condition)
    )


def status_board(
    actor: Actor, settings: Settings, id_program: int, period: str, year: int
) -> ReportStatusBoard:
    """Per student, each root goal's report for the period: missing, draft or final.

    Three queries after the access checks whatever the program's size: the students,
    their root goals, their reports for the period."""
    period_dates(
        settings,
        period,
        year,
        session=actor.db,
        id_school_district=district_of_program(actor.db, id_program),
    )
    _require_report_reader(actor, id_program)
    in_scope = _students_with_readable_reports(actor, id_program)
    students = actor.db.execute(
        select(Student.id_student, Student.identifier)
        .where(Student.id_student.in_(in_scope))
        .order_by(Student.identifier, Student.id_student)
    ).all()
    goals = actor.db.execute(
        select(Goal.id_goal, Goal.id_student, Goal.title)
        .where(
            Goal.id_student.in_(in_scope),
            Goal.id_goal_parent.is_(None),
            actor.authz.readable("goal"),
        )
        .order_by(Goal.id_goal)
    ).all()
    reports = actor.db.execute(
        select(
            ProgressReport.id_goal,
            ProgressReport.id_progress_report,
            ProgressReport.finalized_at,
        ).where(
            ProgressReport.id_student.in_(in_scope),
            ProgressReport.period == period,
            ProgressReport.year == year,
            actor.authz.readable(RESOURCE),
        )
    ).all()
    report_of = {row.id_goal: row for row in reports}
    goals_of: dict[int, list[GoalStatus]] = {}
    for goal in goals:
        report = report_of.get(goal.id_goal)
        status: Status = "missing"
        if report is not None:
            status = "final" if report.finalized_at is not None else "draft"
        goals_of.setdefault(goal.id_student, []).append(
            GoalStatus(
                id_goal=goal.id_goal,
                title=goal.title,
                status=status,
                id_progress_report=None if report is None else report.id_progress_report,
            )
        )
    overall = StatusTotals()
    items: list[StudentStatus] = []
    for student in students:
        goal_statuses = goals_of.get(student.id_student, [])
        totals = _totals(goal.status for goal in goal_statuses)
        overall.missing += totals.missing
        overall.draft += totals.draft
        overall.final += totals.final
        items.append(
            StudentStatus(
                id_student=student.id_student,
                identifier=student.identifier,
                goals=goal_statuses,
                totals=totals,
            )
        )
    return ReportStatusBoard(
        id_program=id_program, period=period, year=year, items=items, totals=overall
    )


def _totals(statuses: Iterable[str]) -> StatusTotals:
    totals = StatusTotals()
    for status in statuses:
        setattr(totals, status, getattr(totals, status) + 1)
    return totals


EXPORT_COLUMNS = (
    "identifier",
    "id_student",
    "id_goal",
    "goal_title",
    "period",
    "year",
    "status",
    "generated_at",
    "finalized_at",
    "summary",
)


def export_rows(
    actor: Actor, settings: Settings, id_program: int, period: str, year: int
) -> list[tuple[Any, ...]]:
    """The program's reports for the period that the user can read, as EXPORT_COLUMNS
    rows, in one query; the export is audited once per student it discloses. A report
    waiting for review is listed with the notice in place of its summary."""
    period_dates(
        settings,
        period,
        year,
        session=actor.db,
        id_school_district=district_of_program(actor.db, id_program),
    )
    _require_report_reader(actor, id_program)
    goal_visible = (Goal.id_goal == ProgressReport.id_goal) & actor.authz.readable("goal")
    rows = actor.db.execute(
        select(
            Student.identifier,
            ProgressReport.id_student,
            ProgressReport.id_goal,
            Goal.title,
            ProgressReport.period,
            ProgressReport.year,
            ProgressReport.finalized_at,
            ProgressReport.generated_at,
            ProgressReport.summary,
            ProgressReport.review_requested_at,
            ProgressReport.id_progress_report,
        )
        .select_from(ProgressReport)
        .join(Student, Student.id_student == ProgressReport.id_student)
        .outerjoin(Goal, goal_visible)
        .where(
            Student.id_program == id_program,
            actor.authz.readable("student"),
            ProgressReport.period == period,
            ProgressReport.year == year,
            actor.authz.readable(RESOURCE),
        )
        .order_by(Student.identifier, ProgressReport.id_goal, ProgressReport.id_progress_report)
    ).all()
    reports_per_student: dict[int, int] = {}
    for row in rows:
        reports_per_student[row.id_student] = reports_per_student.get(row.id_student, 0) + 1
    scope = {"id_program": id_program, "period": period, "year": year}
    entries = [
        AuditEntry("export", RESOURCE, id_student=id_student, details={**scope, "reports": count})
        for id_student, count in reports_per_student.items()
    ] or [AuditEntry("export", RESOURCE, details={**scope, "reports": 0})]
    record_audit_rows(actor.audit, entries)
    return [
        (
            row.identifier,
            row.id_student,
            row.id_goal,
            row.title,
            row.period,
            row.year,
            "final" if row.finalized_at is not None else "draft",
            row.generated_at,
            row.finalized_at,
            shareable_summary(row.summary, row.review_requested_at),
        )
        for row in rows
    ]
