"""A page of students at a glance: program, goal count, last progress logged and the
period's open reports, in one statement each whatever the page size, each on the
reader's own read conditions (a count never includes what they cannot see)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select

from goalpath.authz.actor import Actor
from goalpath.models import Goal, Program, ProgressEvent, ProgressReport, Student


def program_names(actor: Actor, ids: Iterable[int | None]) -> dict[int, str]:
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


@dataclass(frozen=True)
class StudentRow:
    student: Student
    program: str | None
    goals: int | None
    last_activity: datetime | None
    missing: int | None
    draft: int | None
    final: int | None


def student_rows(
    actor: Actor, listed: Sequence[Student], period: str, year: int
) -> list[StudentRow]:
    """Program, goal count, last logged progress and the period's open reports for a
    page of students: one query each, whatever the page size, each on the user's own
    read conditions (a count never includes what the user cannot see)."""
    ids = [student.id_student for student in listed]
    programs = program_names(actor, (student.id_program for student in listed))
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
