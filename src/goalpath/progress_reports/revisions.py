"""Report revisions: a summary that something replaced is kept, with who wrote it, when,
and why it was replaced (SPEC section 14: nothing a person wrote is lost).

Who wrote a report's current text is read from its newest revision: the person who
replaced the text before it when the reason is `edited`, the drafting for any other
reason. A report with no revision has the text it was created with: drafted when it
has `generated_at` (every report is created by drafting). So "staff edited this draft"
is known from the revisions alone, whichever path (page, API) saved the edit, and
drafting again asks before it replaces such a text (docs/decisions.md).

Each function is one statement whatever the number of reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from goalpath.models import ProgressReportRevision

EDITED = "edited"
DRAFTED_AGAIN = "drafted_again"
EVENT_MARKED_SENSITIVE = "event_marked_sensitive"
# Enough for any report's history on its page; older revisions stay in the table.
MAX_SHOWN = 50


@dataclass(frozen=True)
class ReportText:
    """What a report holds now, as far as its revisions are concerned."""

    id_progress_report: int
    summary: str | None
    generated_at: datetime | None
    id_user_created: int | None


@dataclass(frozen=True)
class Writer:
    """Who wrote a report's current text: the drafting, or a person (None: unknown)."""

    drafted: bool
    id_user: int | None
    at: datetime | None

    @property
    def staff_edited(self) -> bool:
        return not self.drafted


def _writer(
    report: ReportText, reason: str | None, id_user: int | None, at: datetime | None
) -> Writer:
    if reason is None:
        drafted = report.generated_at is not None
        return Writer(
            drafted,
            None if drafted else report.id_user_created,
            report.generated_at if drafted else None,
        )
    if reason == EDITED:
        return Writer(False, id_user, at)
    return Writer(True, None, at)


def writer_after(report: ReportText, newest: ProgressReportRevision | None) -> Writer:
    """The current text's writer, given the report's newest revision (or none)."""
    if newest is None:
        return _writer(report, None, None, None)
    return _writer(report, newest.reason, newest.id_user_replaced, newest.replaced_at)


def writers(session: Session, reports: Sequence[ReportText]) -> dict[int, Writer]:
    """The writer of each report's current text, in one query."""
    if not reports:
        return {}
    ids = [report.id_progress_report for report in reports]
    newest = (
        select(func.max(ProgressReportRevision.id_progress_report_revision))
        .where(ProgressReportRevision.id_progress_report.in_(ids))
        .group_by(ProgressReportRevision.id_progress_report)
    )
    latest = {
        row.id_progress_report: row
        for row in session.execute(
            select(
                ProgressReportRevision.id_progress_report,
                ProgressReportRevision.reason,
                ProgressReportRevision.id_user_replaced,
                ProgressReportRevision.replaced_at,
            ).where(ProgressReportRevision.id_progress_report_revision.in_(newest))
        )
    }
    found: dict[int, Writer] = {}
    for report in reports:
        row = latest.get(report.id_progress_report)
        found[report.id_progress_report] = (
            _writer(report, None, None, None)
            if row is None
            else _writer(report, row.reason, row.id_user_replaced, row.replaced_at)
        )
    return found


@dataclass(frozen=True)
class Replaced:
    """A text about to be replaced, and who wrote it."""

    id_progress_report: int
    summary: str
    writer: Writer


def keep(
    session: Session,
    replaced: Iterable[Replaced],
    *,
    reason: str,
    id_user: int | None,
    at: datetime,
    withheld: str | None = None,
) -> None:
    """Keep the replaced texts as revisions, in one executemany. An empty text is kept
    too: the newest revision must say who wrote the text that replaced it."""
    rows = [
        {
            "id_progress_report": item.id_progress_report,
            "summary": item.summary,
            "drafted": item.writer.drafted,
            "id_user_written": item.writer.id_user,
            "written_at": item.writer.at,
            "reason": reason,
            "id_user_replaced": id_user,
            "replaced_at": at,
            "withheld_reason": withheld,
            "withheld_at": at if withheld is not None else None,
        }
        for item in replaced
    ]
    if rows:
        session.execute(insert(ProgressReportRevision), rows)


def withhold(
    session: Session,
    *,
    quoting: Sequence[int],
    among: Sequence[int],
    line: str | None,
    reason: str,
    at: datetime,
) -> None:
    """Withhold the revisions that may quote an event: every revision of the reports
    that may quote it (`quoting`), and any revision of the other reports (`among`)
    whose text holds the event's line. Conservative as `reclassification` is: a
    revision withheld by mistake is still there for those who may read it."""
    if not among:
        return
    may_quote = ProgressReportRevision.id_progress_report.in_(quoting) if quoting else None
    holds_line = ProgressReportRevision.summary.contains(line, autoescape=True) if line else None
    conditions = [condition for condition in (may_quote, holds_line) if condition is not None]
    if not conditions:
        return
    session.execute(
        update(ProgressReportRevision)
        .where(
            ProgressReportRevision.id_progress_report.in_(among),
            ProgressReportRevision.withheld_at.is_(None),
            or_(*conditions),
        )
        .values(withheld_reason=reason, withheld_at=at)
        .execution_options(synchronize_session=False)
    )


def of_report(session: Session, id_progress_report: int) -> list[ProgressReportRevision]:
    """The report's newest revisions first, at most MAX_SHOWN + 1 (so a page can say
    that older ones exist)."""
    return list(
        session.scalars(
            select(ProgressReportRevision)
            .where(ProgressReportRevision.id_progress_report == id_progress_report)
            .order_by(ProgressReportRevision.id_progress_report_revision.desc())
            .limit(MAX_SHOWN + 1)
        )
    )


@dataclass(frozen=True)
class Shown:
    """A revision as the report page lists it; `summary` is None when withheld from
    this reader."""

    revision: ProgressReportRevision
    summary: str | None
    withheld: bool


def shown(found: Sequence[ProgressReportRevision], may_read_withheld: bool) -> list[Shown]:
    return [
        Shown(
            revision,
            None
            if revision.withheld_at is not None and not may_read_withheld
            else revision.summary,
            revision.withheld_at is not None,
        )
        for revision in found[:MAX_SHOWN]
    ]


def people(found: Sequence[ProgressReportRevision]) -> set[int]:
    """The staff a page names for these revisions."""
    return {
        id_user
        for revision in found
        for id_user in (revision.id_user_written, revision.id_user_replaced)
        if id_user is not None
    }
