"""When a progress event becomes sensitive, the reports that may quote it (SPEC section 14).

A draft is written again without the event. A final report, whose text a person signed
off, keeps its text and is marked for review; until someone finalises it again, no
export carries that text (`service.shareable_summary`). Both happen in the request that
marks the event, whatever the marking user's own report rights: the rule protects the
student, and stopping at the reports that user may edit would leave the quote in others.

Which reports quoted the event is decided conservatively, from what the generator does:
a report summarises its goal's events and its sub-goals' for the period, counts and
excerpts. So every report of the student on the event's goal or one of its ancestors,
for a period whose dates hold the event's `created_at`, counts as quoting it; and so does
any other report of the student for such a period whose text holds the event's line as
the generator writes it (the event may have moved goal since, or the line been copied).

A draft whose text staff had edited is redrafted too: the edited text may carry the
quote. The text replaced is kept as a report revision (nothing a person wrote is lost),
withheld: only those who may read the student's sensitive events see it. So are the
earlier revisions of every report that may quote the event, and any revision of the
student's reports for those periods that holds the event's line.
The audit rows name the event and the reason, never any text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from goalpath.authz.actor import Actor
from goalpath.config import Settings
from goalpath.models import Goal, ProgressReport
from goalpath.progress_reports import revisions
from goalpath.progress_reports.generation import Redraft, excerpt, redraft_reports
from goalpath.progress_reports.periods import (
    MAX_YEAR,
    MIN_YEAR,
    district_of_student,
    period_names,
    period_range,
    school_year_of,
)
from goalpath.progress_reports.service import (
    RESOURCE,
    REVIEW_EVENT_SENSITIVE,
    AuditEntry,
    record_audit_rows,
)

_REDRAFTED_FIELDS = ["generated_at", "summary"]
_REVIEW_FIELDS = ["review_reason", "review_requested_at"]


@dataclass(frozen=True)
class MarkedEvent:
    """The event as reports may have quoted it: its goal and text before the change that
    marked it sensitive (the same change may move it or edit it)."""

    id_progress_event: int
    id_student: int
    id_goal: int | None
    created_at: datetime
    content: str | None


def periods_containing(
    settings: Settings,
    moment: datetime,
    *,
    session: Session | None = None,
    id_school_district: int | None = None,
) -> list[tuple[str, int]]:
    """Every configured (period, year) whose dates hold `moment`. A period never runs
    across 31 July, so only the school year of the moment's date can hold it."""
    day = moment.astimezone(UTC).date()
    year = school_year_of(day)
    if not MIN_YEAR <= year <= MAX_YEAR:
        return []
    found = []
    names = period_names(
        settings, session=session, id_school_district=id_school_district, year=year
    )
    for name in names:
        start, end = period_range(
            settings, name, year, session=session, id_school_district=id_school_district
        )
        if start <= moment < end:
            found.append((name, year))
    return found


def _goal_and_ancestors(parent_of: dict[int, int | None], id_goal: int | None) -> set[int]:
    chain: set[int] = set()
    current = id_goal
    while current is not None and current not in chain:
        chain.add(current)
        current = parent_of.get(current)
    return chain


def withdraw_from_reports(actor: Actor, settings: Settings, event: MarkedEvent) -> None:
    """Redraft the drafts and mark for review the final reports that may quote `event`.

    The goal tree and the reports are read whatever the user's scopes, like the goal
    service's cycle check: which reports quoted an event does not depend on who asks.
    The reports are locked, so a finalisation running meanwhile waits for this change
    rather than signing off a quote."""
    periods = periods_containing(
        settings,
        event.created_at,
        session=actor.db,
        id_school_district=district_of_student(actor.db, event.id_student),
    )
    if not periods:
        return
    session = actor.db
    parent_of: dict[int, int | None] = {
        row.id_goal: row.id_goal_parent
        for row in session.execute(
            select(Goal.id_goal, Goal.id_goal_parent).where(Goal.id_student == event.id_student)
        )
    }
    quoting_goals = _goal_and_ancestors(parent_of, event.id_goal)
    quoted_text = excerpt(event.content or "")
    line = f"{event.created_at.date().isoformat()}: {quoted_text}" if quoted_text else None
    reports = session.execute(
        select(
            ProgressReport.id_progress_report,
            ProgressReport.id_goal,
            ProgressReport.period,
            ProgressReport.year,
            ProgressReport.summary,
            ProgressReport.generated_at,
            ProgressReport.id_user_created,
            ProgressReport.finalized_at,
            ProgressReport.review_requested_at,
        )
        .where(
            ProgressReport.id_student == event.id_student,
            or_(
                *(
                    and_(ProgressReport.period == period, ProgressReport.year == year)
                    for period, year in periods
                )
            ),
        )
        .order_by(ProgressReport.id_progress_report)
        .with_for_update()
    ).all()
    quoting = [
        report
        for report in reports
        if report.id_goal in quoting_goals
        or (line is not None and report.summary is not None and line in report.summary)
    ]
    drafts = [
        Redraft(
            report.id_progress_report,
            event.id_student,
            report.id_goal,
            report.period,
            report.year,
            revisions.ReportText(
                report.id_progress_report,
                report.summary,
                report.generated_at,
                report.id_user_created,
            ),
        )
        for report in quoting
        if report.finalized_at is None
        and report.id_goal is not None
        and report.period is not None
        and report.year is not None
    ]
    to_review = [
        report.id_progress_report
        for report in quoting
        if report.finalized_at is not None and report.review_requested_at is None
    ]
    now = actor.info.now
    revisions.withhold(
        session,
        quoting=[report.id_progress_report for report in quoting],
        among=[report.id_progress_report for report in reports],
        line=line,
        reason=revisions.EVENT_MARKED_SENSITIVE,
        at=now,
    )
    redraft_reports(actor.authz, settings, drafts, now=now)
    if to_review:
        session.execute(
            update(ProgressReport)
            .where(
                ProgressReport.id_progress_report.in_(to_review),
                ProgressReport.finalized_at.is_not(None),
            )
            .values(review_reason=REVIEW_EVENT_SENSITIVE, review_requested_at=now)
            .execution_options(synchronize_session=False)
        )
    reason = {"reason": REVIEW_EVENT_SENSITIVE, "id_progress_event": event.id_progress_event}
    record_audit_rows(
        actor.audit,
        [
            AuditEntry(
                "update",
                RESOURCE,
                record_id=draft.id_progress_report,
                id_student=event.id_student,
                details={**reason, "fields": _REDRAFTED_FIELDS, "generated": True},
            )
            for draft in drafts
        ]
        + [
            AuditEntry(
                "update",
                RESOURCE,
                record_id=id_progress_report,
                id_student=event.id_student,
                details={**reason, "fields": _REVIEW_FIELDS},
            )
            for id_progress_report in to_review
        ],
    )
