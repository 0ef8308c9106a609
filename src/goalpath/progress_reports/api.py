"""HTTP endpoints of the progress reports domain: a student's reports, one report,
finalising and reopening, drafting from logged progress, and per program the status
board and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from goalpath.auth.deps import app_settings
from goalpath.authz.deps import CurrentActor
from goalpath.config import Settings
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.kit.spreadsheet import safe_cell
from goalpath.progress_reports import service
from goalpath.progress_reports.generation import generate_reports
from goalpath.progress_reports.periods import MAX_NAME_LENGTH, MAX_YEAR, MIN_YEAR
from goalpath.progress_reports.schemas import (
    MAX_ID,
    GenerateInput,
    GenerationResult,
    ProgressReport,
    ReportStatusBoard,
    ReportUpdate,
)

router = APIRouter(tags=["progress reports"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_progress_report")]
ProgramId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_program")]
AppSettings = Annotated[Settings, Depends(app_settings)]
PeriodQuery = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="A configured reporting period, e.g. Q1",
    ),
]
YearQuery = Annotated[
    int,
    Query(ge=MIN_YEAR, le=MAX_YEAR, description="Calendar year in which the school year starts"),
]
_FINAL_409 = "The report is final: reopen it first"


def report_filters(
    period: Annotated[
        str | None, Query(min_length=1, max_length=MAX_NAME_LENGTH, description="e.g. Q1")
    ] = None,
    year: Annotated[
        int | None,
        Query(ge=MIN_YEAR, le=MAX_YEAR, description="School year, by its first calendar year"),
    ] = None,
    id_goal: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Reports of this goal")
    ] = None,
) -> service.ReportFilters:
    return service.ReportFilters(period=period, year=year, id_goal=id_goal)


@router.get(
    "/students/{id_student}/progress-reports",
    response_model=Page[ProgressReport],
    responses=problem_responses(401, 403, 404, 422),
    summary="A student's progress reports",
)
def list_reports(
    id_student: StudentId,
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
    filters: Annotated[service.ReportFilters, Depends(report_filters)],
) -> Page[ProgressReport]:
    items, next_cursor = service.list_reports(actor, id_student, filters, page)
    return Page[ProgressReport](
        items=[ProgressReport.model_validate(item) for item in items], next_cursor=next_cursor
    )


@router.post(
    "/progress-reports/generate",
    response_model=GenerationResult,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s404="The goal, student or program is absent or outside the user's scope",
        s409="Some of the reports were created by another request meanwhile; run again",
        s422="Invalid input, an unknown period (the answer lists the valid ones), not "
        "exactly one target, or a sub-goal instead of a root goal",
    ),
    summary="Draft the period's reports from logged progress, for one root goal, one "
    "student or a whole program (final reports are left untouched, and so are drafts "
    "that staff edited unless replace_edited is given)",
)
def generate(body: GenerateInput, actor: CurrentActor, settings: AppSettings) -> GenerationResult:
    return generate_reports(
        actor.authz,
        settings,
        period=body.period,
        year=body.year,
        id_goal=body.id_goal,
        id_student=body.id_student,
        id_program=body.id_program,
        now=actor.info.now,
        replace_edited=body.replace_edited,
    )


@router.get(
    "/progress-reports/{id_progress_report}",
    response_model=ProgressReport,
    responses=problem_responses(
        401, 403, 404, 422, s403="The user's password has expired and must be changed first"
    ),
    summary="One progress report",
)
def get_report(id_progress_report: ReportId, actor: CurrentActor) -> ProgressReport:
    return ProgressReport.model_validate(service.get_report(actor, id_progress_report))


@router.patch(
    "/progress-reports/{id_progress_report}",
    response_model=ProgressReport,
    responses=problem_responses(401, 403, 404, 409, 422, s409=_FINAL_409),
    summary="Edit a draft report's summary",
)
def update_report(
    id_progress_report: ReportId, body: ReportUpdate, actor: CurrentActor
) -> ProgressReport:
    return ProgressReport.model_validate(service.update_report(actor, id_progress_report, body))


@router.delete(
    "/progress-reports/{id_progress_report}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 409, 422, s409=_FINAL_409),
    summary="Delete a draft report",
)
def delete_report(id_progress_report: ReportId, actor: CurrentActor) -> Response:
    service.delete_report(actor, id_progress_report)
    return Response(status_code=204)


@router.post(
    "/progress-reports/{id_progress_report}/finalize",
    response_model=ProgressReport,
    responses=problem_responses(401, 403, 404, 409, 422, s409="The report is already final"),
    summary="Finalise a report: it becomes read-only until reopened",
)
def finalize_report(id_progress_report: ReportId, actor: CurrentActor) -> ProgressReport:
    return ProgressReport.model_validate(service.finalize_report(actor, id_progress_report))


@router.post(
    "/progress-reports/{id_progress_report}/reopen",
    response_model=ProgressReport,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s403="Only staff who may update a whole program's reports (coordinators, "
        "administrators) can reopen",
        s409="The report is not final",
    ),
    summary="Reopen a final report so it can be edited again",
)
def reopen_report(id_progress_report: ReportId, actor: CurrentActor) -> ProgressReport:
    return ProgressReport.model_validate(service.reopen_report(actor, id_progress_report))


@router.get(
    "/programs/{id_program}/report-status",
    response_model=ReportStatusBoard,
    responses=problem_responses(
        401,
        403,
        404,
        422,
        s403="The user may not read progress reports",
        s422="Invalid input or an unknown period",
    ),
    summary="Per student of the program, each root goal's report for the period: "
    "missing, draft or final",
)
def report_status(
    id_program: ProgramId,
    period: PeriodQuery,
    year: YearQuery,
    actor: CurrentActor,
    settings: AppSettings,
) -> ReportStatusBoard:
    return service.status_board(actor, settings, id_program, period, year)


def _csv(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(service.EXPORT_COLUMNS)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


@router.get(
    "/programs/{id_program}/progress-reports.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "The program's reports for the period that the user may read",
        },
        **problem_responses(
            401,
            403,
            404,
            422,
            s403="The user may not read progress reports",
            s422="Invalid input or an unknown period",
        ),
    },
    summary="Export the program's reports for a period as CSV (the export is audited)",
)
def export_reports(
    id_program: ProgramId,
    period: PeriodQuery,
    year: YearQuery,
    actor: CurrentActor,
    settings: AppSettings,
) -> Response:
    rows = service.export_rows(actor, settings, id_program, period, year)
    safe_period = re.sub(r"[^A-Za-z0-9_-]", "_", period)
    return Response(
        content=_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="progress-reports-{id_program}-{safe_period}-{year}.csv"'
            )
        },
    )
