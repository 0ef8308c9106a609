"""Progress reports in the pages: drafting (for a goal, a student or a whole program),
a report's page with its edit, finalise, reopen and redraft forms, a program's status
board for a period, and the index of boards (SPEC section 8)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from sqlalchemy import select
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.config import Settings
from goalpath.errors import ValidationFailed
from goalpath.goals.pages import goal_page_response
from goalpath.kit.pagination import MAX_LIMIT
from goalpath.models import (
    Goal,
    Program,
    ProgressReport,
)
from goalpath.progress_reports import revisions
from goalpath.progress_reports import service as progress_reports
from goalpath.progress_reports.generation import generate_reports
from goalpath.progress_reports.periods import (
    MAX_NAME_LENGTH,
    current_period,
    district_of_student,
    period_choices,
    period_dates,
    school_year_label,
)
from goalpath.progress_reports.schemas import GenerateInput, GenerationResult, ReportUpdate
from goalpath.students.pages import student_page_response
from goalpath.web import forms
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


REPORTS_PATH = "/reports"


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
    if result.skipped_edited:
        sentences.append(
            count(
                result.skipped_edited,
                "draft that staff edited was left as it was; open the report to draft it again.",
                "drafts that staff edited were left as they were; open a report to draft it again.",
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
    body = forms.validated(
        GenerateInput,
        fields,
        values,
        {
            "period": values["period"],
            "year": forms.year_choice(values["year"], fields["year"]),
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


def _period_fields(form: str) -> dict[str, FieldSpec]:
    return {
        name: FieldSpec(f"{form}-{spec.element}", spec.label, spec.empty)
        for name, spec in _PERIOD_FIELDS.items()
    }


def _draft(
    request: Request,
    actor: Actor,
    form: str,
    values: dict[str, str],
    location: Callable[[GenerationResult], str],
    again: Callable[[FormState | None, str | None], Response],
    **target: int,
) -> Response:
    """A "draft reports" form (one goal, a student, a program): the period asked for,
    then the generation's message, which says what it skipped and why."""
    fields = _period_fields(form)

    def change() -> tuple[str, str]:
        result = _generate(actor, app_settings(request), values, fields, **target)
        return _generation_message(result), location(result)

    return forms.submit(request, actor.db, FormState(values, form=form), fields, change, again)


@router.post(STUDENTS_PATH + "/{id_student}/progress-reports")
def draft_student_reports(
    id_student: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    student_id = forms.path_id(id_student)
    return _draft(
        request,
        actor,
        "student-reports",
        {"period": period, "year": year},
        lambda _result: student_path(student_id) + "#reports",
        forms.showing(student_page_response, request, actor, student_id),
        id_student=student_id,
    )


@router.post("/goals/{id_goal}/progress-reports")
def draft_goal_report(
    id_goal: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    goal_id = forms.path_id(id_goal)

    def location(result: GenerationResult) -> str:
        # The report itself when there is one to open, else the goal's list.
        if len(result.ids) == 1:
            return f"/progress-reports/{result.ids[0]}"
        return f"/goals/{goal_id}#reports"

    again = forms.showing(goal_page_response, request, actor, goal_id)
    values = {"period": period, "year": year}
    return _draft(request, actor, "goal-report", values, location, again, id_goal=goal_id)


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
    earlier = revisions.of_report(actor.db, id_report)
    may_read_withheld = any(
        revision.withheld_at is not None for revision in earlier
    ) and authz.can_on_student("progress_event", "read_sensitive", report.id_student or 0)
    writer = revisions.writer_after(
        progress_reports.report_text(report), earlier[0] if earlier else None
    )
    return {
        "report": report,
        "final": final,
        "goal_title": goal_title,
        "identifier": student_identifier(actor, report.id_student),
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
        "authors": user_names(
            actor,
            [
                report.id_user_created,
                report.id_user_finalized,
                writer.id_user,
                *revisions.people(earlier),
            ],
        ),
        "writer": writer,
        "revisions": revisions.shown(earlier, may_read_withheld),
        "more_revisions": len(earlier) > revisions.MAX_SHOWN,
    }


def _report_page(
    request: Request, actor: Actor, id_report: int, failed: FormState | None = None
) -> Response:
    context = _report_context(request, actor, id_report)
    return forms.render_again(request, "staff/report.html", context, failed)


def report_path(id_report: int) -> str:
    return f"/progress-reports/{id_report}"


@router.get("/progress-reports/{id_report}")
def report_page(id_report: str, request: Request, actor: PageActor) -> Response:
    return _report_page(request, actor, forms.path_id(id_report))


_SUMMARY_FIELDS = {"summary": FieldSpec("summary", "Summary", "Write the summary.")}
_FINAL_MESSAGE = "The report is final. It is read-only unless a coordinator reopens it."
# Absent (another client's finalise form) is not the same as sent empty (refused).
OptionalFormText = Annotated[str | None, Form()]


def _save_summary(actor: Actor, report_id: int, summary: str) -> bool:
    """Save the typed summary; whether it changed the report's text."""
    text = forms.multiline(summary)
    if not text.strip():
        # The API accepts an empty summary; a page that saves one by accident
        # would leave a family's report blank.
        raise FormInvalid({"summary": [_SUMMARY_FIELDS["summary"].empty]})
    body = forms.validated(ReportUpdate, _SUMMARY_FIELDS, {"summary": summary}, {"summary": text})
    before = progress_reports.get_report(actor, report_id, audited=False).summary
    return progress_reports.update_report(actor, report_id, body).summary != before


def _report_action(
    request: Request,
    actor: Actor,
    id_report: str,
    form: str,
    act: Callable[[int], str],
    summary: str | None = None,
) -> Response:
    """One of the report page's forms; `summary` is what the summary form sent, if
    that form was the one submitted (it is shown again if refused)."""

    report_id = forms.path_id(id_report)
    return forms.submit(
        request,
        actor.db,
        FormState({} if summary is None else {"summary": summary}, form=form),
        {} if summary is None else _SUMMARY_FIELDS,
        lambda: (act(report_id), report_path(report_id)),
        forms.showing(_report_page, request, actor, report_id),
    )


@router.post("/progress-reports/{id_report}")
def edit_report(
    id_report: str, request: Request, actor: PageActor, summary: FormText = ""
) -> Response:
    def act(report_id: int) -> str:
        _save_summary(actor, report_id, summary)
        return "The summary has been saved."

    return _report_action(request, actor, id_report, "summary", act, summary)


@router.post("/progress-reports/{id_report}/finalize")
def finalise_report(
    id_report: str, request: Request, actor: PageActor, summary: OptionalFormText = None
) -> Response:
    """The summary form's Finalise button sends the text as it stands, saved first in
    the same transaction: an edit nobody saved is not lost to the machine's draft."""

    def act(report_id: int) -> str:
        saved = summary is not None and _save_summary(actor, report_id, summary)
        progress_reports.finalize_report(actor, report_id)
        return f"The summary has been saved. {_FINAL_MESSAGE}" if saved else _FINAL_MESSAGE

    form = "finalise" if summary is None else "summary"
    return _report_action(request, actor, id_report, form, act, summary)


@router.post("/progress-reports/{id_report}/reopen")
def reopen_report(id_report: str, request: Request, actor: PageActor) -> Response:
    def act(report_id: int) -> str:
        progress_reports.reopen_report(actor, report_id)
        return "The report has been reopened and can be edited again."

    return _report_action(request, actor, id_report, "reopen", act)


@router.post("/progress-reports/{id_report}/regenerate")
def redraft_report(
    id_report: str, request: Request, actor: PageActor, replace_edited: FormText = ""
) -> Response:
    """Draft one report again. A text staff edited is replaced only once the person
    confirmed it on the page this answers first; the replaced text is kept."""

    report_id = forms.path_id(id_report)
    if replace_edited not in ("", "yes"):
        raise ValidationFailed(
            "This confirmation is not one the report's page sends; open the report "
            "and press Draft again."
        )
    confirmed = replace_edited == "yes"
    # Looked up for its goal and period; the redraft itself is what is audited.
    report = progress_reports.get_report(actor, report_id, audited=False)
    if report.id_goal is None or report.period is None or report.year is None:
        raise ValidationFailed("This report has no goal or period to draft from.")
    text = progress_reports.report_text(report)
    writer = revisions.writers(actor.db, [text])[report_id]
    if writer.staff_edited and not confirmed and report.finalized_at is None:
        return render(
            request,
            "staff/report_redraft.html",
            {
                "report": report,
                "writer": writer,
                "authors": user_names(actor, [writer.id_user]),
                "identifier": student_identifier(actor, report.id_student),
                "year_label": school_year_label(report.year),
            },
        )
    id_goal, period, year = report.id_goal, report.period, report.year

    def act(_report_id: int) -> str:
        result = generate_reports(
            actor.authz,
            app_settings(request),
            period=period,
            year=year,
            id_goal=id_goal,
            now=actor.info.now,
            replace_edited=confirmed,
        )
        message = _generation_message(result)
        if writer.staff_edited and result.updated:
            message += " The edited text is kept under Earlier versions."
        return message

    return _report_action(request, actor, id_report, "redraft", act)


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
    today = today_of(actor)
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
    if len(period) > MAX_NAME_LENGTH or not period or not forms.printable(period):
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
            board_errors, board_error = forms.service_refusal(error, fields)
            for element, messages in board_errors.items():
                errors.setdefault(element, messages)
            form_error = form_error or board_error
            status = 422
    context.update(
        errors=errors,
        form_error=form_error,
        labels={spec.element: spec.label for spec in fields.values()},
        year_label=school_year_label(year) if year is not None and context["board"] else None,
        **period_choices(settings, today, year),
    )
    return render(request, "staff/board.html", context, status_code=status)


@router.get("/programs/{id_program}/report-status")
def board_page(id_program: str, request: Request, actor: PageActor) -> Response:
    period = request.query_params.get("period")
    year_text = request.query_params.get("year")
    return _board_page(
        request, actor, forms.path_id(id_program), period=period, year_text=year_text
    )


@router.post("/programs/{id_program}/report-status")
def draft_program_reports(
    id_program: str,
    request: Request,
    actor: PageActor,
    period: FormText = "",
    year: FormText = "",
) -> Response:
    program_id = forms.path_id(id_program)

    def again(failed: FormState | None, _message: str | None) -> Response:
        return _board_page(request, actor, program_id, failed, period=period, year_text=year)

    return _draft(
        request,
        actor,
        "board",
        {"period": period, "year": year},
        lambda _result: _board_path(program_id, period, year),
        again,
        id_program=program_id,
    )


@router.get(REPORTS_PATH)
def reports_index(request: Request, actor: PageActor) -> Response:
    settings = app_settings(request)
    period, year = current_period(settings, today_of(actor))
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
