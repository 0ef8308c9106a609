"""The family progress report of one student for one period: a PDF, and a CSV for data
work (SPEC section 8).

A family report carries each goal the viewer may read, that goal's report text for the
period, and how many progress entries staff logged for it each week of the school
year. It never carries a progress event: not its text, and not even a count of the
sensitive ones, whatever the viewer's own rights, because a family report leaves the
school. A report waiting for review (an event it may quote was marked sensitive since)
is shown with a notice in place of its text. Every export is one audit row ("export",
"progress_report", the student), and no other read row: the export row is the record.

The PDF is the HTML template rendered by WeasyPrint, with the chart as inline SVG.
WeasyPrint fetches nothing: the stylesheet is read from the package, and any URL the
document might name is refused.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.config import Settings
from goalpath.errors import ValidationFailed
from goalpath.goals import service as goals
from goalpath.goals.tree import report_roots
from goalpath.kit.pagination import MAX_LIMIT, PageRequest
from goalpath.kit.spreadsheet import safe_cell
from goalpath.models import Goal, Program, ProgressEvent, ProgressReport, Student
from goalpath.progress_reports import service as reports
from goalpath.progress_reports.periods import (
    MAX_NAME_LENGTH,
    SCHOOL_YEAR_START_MONTH,
    district_of_student,
    period_dates,
    school_year_start,
)
from goalpath.web.forms import path_id, record_id
from goalpath.web.pages import STATIC_DIR, PageActor, page_router, templates

router = page_router()

RESOURCE = "progress_report"
PRINT_CSS = STATIC_DIR / "print.css"
CSV_COLUMNS = (
    "identifier",
    "id_goal",
    "goal_title",
    "category",
    "period",
    "year",
    "period_start",
    "period_end",
    "report_status",
    "generated_at",
    "finalized_at",
    "summary",
    "entries_in_period",
    "entries_in_school_year",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# The chart's geometry, in CSS pixels of the printed page.
CHART_WIDTH = 640
CHART_HEIGHT = 150
CHART_LEFT = 34
CHART_TOP = 12
CHART_BOTTOM = 28
WEEK = timedelta(days=7)


# -- what the report holds ----------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    in_period: bool


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    months: list[tuple[float, str]]
    peak: int
    baseline: float
    plot_left: float
    plot_right: float
    plot_top: float
    # A sentence that says what the chart shows, for screen readers and print alike.
    description: str
    per_month: list[tuple[str, int]]


@dataclass
class GoalSection:
    id_goal: int
    title: str
    category: str | None
    steps: list[str] = field(default_factory=list)
    summary: str | None = None
    status: str = "missing"
    generated_at: datetime | None = None
    finalized_at: datetime | None = None
    weekly: list[int] = field(default_factory=list)
    monthly: dict[tuple[int, int], int] = field(default_factory=dict)
    in_period: int = 0
    chart: Chart | None = None

    @property
    def in_school_year(self) -> int:
        return sum(self.weekly)


@dataclass(frozen=True)
class FamilyReport:
    id_student: int
    identifier: str
    program: str | None
    period: str
    year: int
    first_day: date
    last_day: date
    prepared_on: date
    goals: list[GoalSection]

    @property
    def school_year(self) -> str:
        return f"{self.year} to {self.year + 1}"

    @property
    def reports(self) -> int:
        return sum(1 for goal in self.goals if goal.status != "missing")


def school_year_weeks(year: int) -> int:
    days = (school_year_start(year + 1) - school_year_start(year)).days
    return math.ceil(days / 7)


def _roots(goal_rows: Sequence[Goal]) -> tuple[list[Goal], dict[int, int]]:
    """Root goals in order, and the root whose report covers each goal (the rule
    drafting follows, `goals.tree.report_roots`: a goal under a parent the viewer
    cannot read belongs to no report of theirs, so it is not a section of its own)."""
    root_of = report_roots({goal.id_goal: goal.id_goal_parent for goal in goal_rows})
    roots = [goal for goal in goal_rows if goal.id_goal_parent is None]
    return roots, root_of


def _period_reports(
    actor: Actor, id_student: int, period: str, year: int
) -> dict[int, ProgressReport]:
    """The student's reports for the period that the viewer may read, by goal."""
    found: dict[int, ProgressReport] = {}
    cursor: str | None = None
    while True:
        page, cursor = reports.list_reports(
            actor,
            id_student,
            reports.ReportFilters(period=period, year=year),
            PageRequest(limit=MAX_LIMIT, cursor=cursor),
            audited=False,
        )
        found.update({report.id_goal: report for report in page if report.id_goal is not None})
        if cursor is None:
            return found


def _entry_days(actor: Actor, id_student: int, year: int) -> list[tuple[int | None, datetime]]:
    """(goal, time) of each progress entry of the school year that the viewer may read
    and that is not sensitive: only these are ever counted, and no text is read."""
    start = school_year_start(year)
    end = school_year_start(year + 1)
    statement = select(ProgressEvent.id_goal, ProgressEvent.created_at).where(
        ProgressEvent.id_student == id_student,
        # The same filter as authz.scoped(..., "progress_event"): what the viewer may read.
        actor.authz.readable("progress_event"),
        or_(ProgressEvent.is_sensitive.is_(None), ProgressEvent.is_sensitive.is_(False)),
        ProgressEvent.created_at >= datetime(start.year, start.month, start.day, tzinfo=UTC),
        ProgressEvent.created_at < datetime(end.year, end.month, end.day, tzinfo=UTC),
    )
    rows = actor.db.execute(statement).all()
    return [(id_goal, created_at) for id_goal, created_at in rows if created_at is not None]


def build_chart(
    weekly: list[int],
    monthly: dict[tuple[int, int], int],
    year: int,
    first_day: date,
    last_day: date,
) -> Chart:
    start = school_year_start(year)
    plot_right = CHART_WIDTH - 6
    baseline = CHART_HEIGHT - CHART_BOTTOM
    step = (plot_right - CHART_LEFT) / len(weekly)
    peak = max(weekly, default=0)
    scale = (baseline - CHART_TOP) / peak if peak else 0.0
    bars = []
    for index, count in enumerate(weekly):
        week_start = start + index * WEEK
        week_end = week_start + timedelta(days=6)
        height = count * scale
        bars.append(
            Bar(
                x=round(CHART_LEFT + index * step + step * 0.15, 2),
                y=round(baseline - height, 2),
                width=round(step * 0.7, 2),
                height=round(height, 2),
                count=count,
                in_period=week_start <= last_day and week_end >= first_day,
            )
        )
    months = []
    labelled = []
    for offset in range(12):
        month = (SCHOOL_YEAR_START_MONTH - 1 + offset) % 12 + 1
        month_year = year if month >= SCHOOL_YEAR_START_MONTH else year + 1
        first = date(month_year, month, 1)
        x = CHART_LEFT + (first - start).days / 7 * step
        months.append((round(x, 2), _MONTHS[month - 1]))
        labelled.append((f"{_MONTHS[month - 1]} {month_year}", monthly.get((month_year, month), 0)))
    total = sum(weekly)
    description = (
        f"Bar chart of progress entries logged each week of the {year} to {year + 1} school "
        f"year: {total} in all, at most {peak} in one week. The darker bars are the weeks "
        "of this reporting period."
    )
    return Chart(
        bars=bars,
        months=months,
        peak=peak,
        baseline=baseline,
        plot_left=CHART_LEFT,
        plot_right=plot_right,
        plot_top=CHART_TOP,
        description=description,
        per_month=labelled,
    )


def check_period(
    settings: Settings,
    period: str,
    year: str,
    *,
    session: Session | None = None,
    id_school_district: int | None = None,
) -> tuple[str, int, date, date]:
    """The period and year from the query, or a 422 that names the valid periods."""
    period = period.strip()
    if not period or len(period) > MAX_NAME_LENGTH or "\x00" in period:
        raise ValidationFailed(
            "Choose a reporting period, such as Q1.",
            errors=[{"field": "period", "message": "Choose a reporting period."}],
        )
    school_year = record_id(year) if len(year) <= 4 else None
    if school_year is None:
        raise ValidationFailed(
            "Give the school year by the calendar year in which it starts, such as 2025.",
            errors=[{"field": "year", "message": "Enter a year such as 2025."}],
        )
    first_day, last_day = period_dates(
        settings, period, school_year, session=session, id_school_district=id_school_district
    )
    return period, school_year, first_day, last_day


def family_report(
    actor: Actor, settings: Settings, id_student: int, period: str, year: str
) -> FamilyReport:
    """Everything the report shows, each part read through `authz` as the API reads it:
    404 for a student outside the viewer's scope, 403 for a role without report rights."""
    # Period names are the district's, not student data, so they may be checked first.
    period, school_year, first_day, last_day = check_period(
        settings,
        period,
        year,
        session=actor.db,
        id_school_district=district_of_student(actor.db, id_student),
    )
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    student = actor.authz.fetch(Student, id_student, "student")
    program = actor.db.scalar(
        actor.authz.scoped(
            select(Program.name).where(Program.id_program == student.id_program), "program"
        )
    )
    goal_rows = goals.goal_tree(actor, id_student, audited=False)
    roots, root_of = _roots(goal_rows)
    found = _period_reports(actor, id_student, period, school_year)
    weeks = school_year_weeks(school_year)
    start = school_year_start(school_year)
    sections: dict[int, GoalSection] = {}
    for root in roots:
        report = found.get(root.id_goal)
        sections[root.id_goal] = GoalSection(
            id_goal=root.id_goal,
            title=root.title or "Untitled goal",
            category=root.category,
            steps=[
                goal.title or "Untitled step"
                for goal in goal_rows
                if goal.id_goal != root.id_goal and root_of.get(goal.id_goal) == root.id_goal
            ],
            summary=(
                reports.shareable_summary(report.summary, report.review_requested_at)
                if report is not None
                else None
            ),
            status=(
                "missing"
                if report is None
                else "final"
                if report.finalized_at is not None
                else "draft"
            ),
            generated_at=report.generated_at if report is not None else None,
            finalized_at=report.finalized_at if report is not None else None,
            weekly=[0] * weeks,
        )
    for id_goal, created_at in _entry_days(actor, id_student, school_year):
        section = sections.get(root_of.get(id_goal, -1)) if id_goal is not None else None
        if section is None:
            continue
        day = created_at.date()
        section.weekly[min((day - start).days // 7, weeks - 1)] += 1
        section.monthly[(day.year, day.month)] = section.monthly.get((day.year, day.month), 0) + 1
        if first_day <= day <= last_day:
            section.in_period += 1
    for section in sections.values():
        section.chart = build_chart(
            section.weekly, section.monthly, school_year, first_day, last_day
        )
    return FamilyReport(
        id_student=id_student,
        identifier=student.identifier or f"#{id_student}",
        program=program,
        period=period,
        year=school_year,
        first_day=first_day,
        last_day=last_day,
        prepared_on=actor.info.now.date(),
        goals=list(sections.values()),
    )


def record_export(actor: Actor, report: FamilyReport, format_name: str) -> None:
    actor.audit.record(
        "export",
        RESOURCE,
        id_student=report.id_student,
        details={
            "view": "family_report",
            "format": format_name,
            "period": report.period,
            "year": report.year,
            "reports": report.reports,
        },
    )


# -- the files ----------------------------------------------------------------------


def render_pdf(report: FamilyReport) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, which only this export needs.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    html = templates.env.get_template("family/report.html").render(report=report)
    # No protocol is allowed: the document names no resource, and must not be made to.
    no_fetching = URLFetcher(allowed_protocols=())
    document = HTML(string=html, url_fetcher=no_fetching)
    pdf: bytes = document.write_pdf(
        stylesheets=[CSS(filename=str(PRINT_CSS), url_fetcher=no_fetching)],
        pdf_tags=True,
    )
    return pdf


def render_csv(report: FamilyReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for goal in report.goals:
        row: list[Any] = [
            report.identifier,
            goal.id_goal,
            goal.title,
            goal.category,
            report.period,
            report.year,
            report.first_day,
            report.last_day,
            goal.status,
            goal.generated_at,
            goal.finalized_at,
            goal.summary,
            goal.in_period,
            goal.in_school_year,
        ]
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def _filename(report: FamilyReport, extension: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", f"{report.identifier}-{report.period}-{report.year}")
    return f"family-report-{safe}.{extension}"


@router.get("/students/{id_student}/family-report.pdf")
def family_report_pdf(
    request: Request, actor: PageActor, id_student: str, period: str = "", year: str = ""
) -> Response:
    report = family_report(actor, app_settings(request), path_id(id_student), period, year)
    content = render_pdf(report)
    record_export(actor, report, "pdf")
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "pdf")}"'},
    )


@router.get("/students/{id_student}/family-report.csv")
def family_report_csv(
    request: Request, actor: PageActor, id_student: str, period: str = "", year: str = ""
) -> Response:
    report = family_report(actor, app_settings(request), path_id(id_student), period, year)
    record_export(actor, report, "csv")
    return Response(
        content=render_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )
