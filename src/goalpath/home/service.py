"""Each person's day (SPEC section 14): the students they work with, their caseload
first, each with the last progress logged on each goal; the reports of this period
that are missing or still drafts; the students with nothing logged for two weeks.

Everything is read on the person's own read conditions (`authz.readable`), so a count
never includes what they cannot see, and in a fixed number of statements whatever the
caseload's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import case, func, select

from goalpath.authz.actor import Actor
from goalpath.config import Settings
from goalpath.models import Goal, ProgressEvent, Student, UserStudent
from goalpath.progress_reports.periods import current_period, school_year_label
from goalpath.students.overview import StudentRow, student_rows

# "Nothing logged for two weeks" (SPEC section 14).
IDLE_DAYS = 14
# The home page lists this many students; the students page has them all.
LISTED = 50


@dataclass(frozen=True)
class GoalLine:
    id_goal: int
    title: str
    last_logged: datetime | None


@dataclass(frozen=True)
class TodayRow:
    row: StudentRow
    on_caseload: bool
    primary: bool
    goals: list[GoalLine]
    idle: bool


@dataclass
class Today:
    period: str
    year: int
    year_label: str
    rows: list[TodayRow] = field(default_factory=list)
    more: bool = False
    reads_students: bool = False
    reads_goals: bool = False
    reads_progress: bool = False
    reads_reports: bool = False

    @property
    def caseload(self) -> list[TodayRow]:
        return [row for row in self.rows if row.on_caseload]

    @property
    def others(self) -> list[TodayRow]:
        return [row for row in self.rows if not row.on_caseload]

    @property
    def reports_open(self) -> list[TodayRow]:
        return [row for row in self.rows if (row.row.missing or 0) + (row.row.draft or 0) > 0]

    @property
    def idle(self) -> list[TodayRow]:
        return [row for row in self.rows if row.idle]


def _listed_students(actor: Actor) -> tuple[list[Student], dict[int, bool], bool]:
    """The readable students, caseload first, and which of them are on the caseload
    (True for the primary assignment)."""
    mine = (
        select(
            UserStudent.id_student, func.max(case((UserStudent.is_primary.is_(True), 1), else_=0))
        )
        .where(UserStudent.id_user == actor.id_user, UserStudent.id_student.is_not(None))
        .group_by(UserStudent.id_student)
    )
    caseload = {row[0]: bool(row[1]) for row in actor.db.execute(mine)}
    on_caseload = case((Student.id_student.in_(list(caseload) or [0]), 0), else_=1)
    statement = (
        actor.authz.scoped(select(Student), "student")
        .order_by(on_caseload, Student.identifier, Student.id_student)
        .limit(LISTED + 1)
    )
    listed = list(actor.db.scalars(statement))
    return listed[:LISTED], caseload, len(listed) > LISTED


def _goal_lines(actor: Actor, ids: list[int], with_progress: bool) -> dict[int, list[GoalLine]]:
    """Each listed student's root goals, with the last progress logged on each when the
    person may read progress: one statement for the whole page."""
    columns = [Goal.id_student, Goal.id_goal, Goal.title]
    statement = select(*columns)
    if with_progress:
        last = (
            select(ProgressEvent.id_goal, func.max(ProgressEvent.created_at).label("last"))
            .where(ProgressEvent.id_student.in_(ids), actor.authz.readable("progress_event"))
            .group_by(ProgressEvent.id_goal)
            .subquery()
        )
        statement = select(*columns, last.c.last).outerjoin(last, last.c.id_goal == Goal.id_goal)
    statement = statement.where(
        Goal.id_student.in_(ids), Goal.id_goal_parent.is_(None), actor.authz.readable("goal")
    ).order_by(Goal.id_student, Goal.id_goal)
    lines: dict[int, list[GoalLine]] = {}
    for found in actor.db.execute(statement):
        logged = cast(datetime | None, found[3]) if with_progress else None
        lines.setdefault(found.id_student, []).append(
            GoalLine(found.id_goal, found.title or f"Goal {found.id_goal}", logged)
        )
    return lines


def today(actor: Actor, settings: Settings) -> Today:
    now = actor.info.now
    period, year = current_period(settings, now.date())
    grants = actor.grants
    day = Today(
        period=period,
        year=year,
        year_label=school_year_label(year),
        reads_students=grants.allows("student", "read"),
        reads_goals=grants.allows("goal", "read"),
        reads_progress=grants.allows("progress_event", "read"),
        reads_reports=grants.allows("goal", "read") and grants.allows("progress_report", "read"),
    )
    if not day.reads_students:
        return day
    listed, caseload, day.more = _listed_students(actor)
    if not listed:
        return day
    rows = student_rows(actor, listed, period, year)
    ids = [student.id_student for student in listed]
    goals = _goal_lines(actor, ids, day.reads_progress) if day.reads_goals else {}
    idle_since = now - timedelta(days=IDLE_DAYS)
    for row in rows:
        id_student = row.student.id_student
        last = row.last_activity
        day.rows.append(
            TodayRow(
                row=row,
                on_caseload=id_student in caseload,
                primary=caseload.get(id_student, False),
                goals=goals.get(id_student, []),
                idle=day.reads_progress and (last is None or last < idle_since),
            )
        )
    return day
