"""academicSessions.csv: gradingPeriod and term sessions become the district's report
periods (SPEC sections 8, 15); other sessions are only remembered, so that classes may
refer to them. A period is never deleted: reports may name it, as they name programs.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from goalpath.models import ReportPeriod
from goalpath.progress_reports.periods import MAX_NAME_LENGTH, MAX_YEAR, MIN_YEAR
from goalpath.rosters.reader import Row
from goalpath.rosters.run import ImportRun

PERIOD_TYPES = frozenset({"gradingPeriod", "term"})
_SCHOOL_YEAR = re.compile(r"^\d{4}$")
# "Trimester 1" -> "T1", "Marking Period 2" -> "MP2": the usual long titles, shortened
# the way staff already say them, before a plain cut to the column's 10 characters.
_NUMBERED_TITLE = re.compile(r"^([A-Za-z]+(?: [A-Za-z]+)?) ?(\d{1,2})$")


def import_sessions(run: ImportRun) -> None:
    periods = {
        (period.year, period.name): period
        for period in run.session.scalars(
            select(ReportPeriod).where(ReportPeriod.id_school_district == run.district)
        )
    }
    by_id = {period.id_report_period: period for period in periods.values()}
    for chunk in run.chunks_of("academicSessions"):
        mapped = run.mapped(("session",), [row.sourced_id for row in chunk])
        for row in chunk:
            source = mapped.get(row.sourced_id)
            if row.get("type") not in PERIOD_TYPES:
                if source is None:
                    run.remember("session", row.sourced_id, None)
                continue
            existing = by_id.get(source.record_id) if source and source.record_id else None
            if row.to_be_deleted:
                # Reports may name the period; it stays, as programs do.
                if existing is not None:
                    run.summary.unchanged += 1
                continue
            values = _period_values(run, row)
            if values is None:
                continue
            taken = periods.get((values["year"], values["name"]))
            if taken is not None and taken is not existing:
                run.error(
                    "academicSessions",
                    row,
                    f"report period {values['name']!r} of school year {values['year']} "
                    "comes from another session",
                )
                continue
            if existing is None:
                period = ReportPeriod(id_school_district=run.district, **values)
                run.session.add(period)
                run.session.flush()
                periods[(period.year, period.name)] = period
                by_id[period.id_report_period] = period
                if source is None:
                    run.remember("session", row.sourced_id, period.id_report_period)
                else:
                    source.record_id = period.id_report_period
                run.record(
                    "create",
                    "report_period",
                    period.id_report_period,
                    ["id_school_district", *values],
                )
                run.summary.created["periods"] += 1
                continue
            changed = [key for key, value in values.items() if getattr(existing, key) != value]
            if not changed:
                run.summary.unchanged += 1
                continue
            periods.pop((existing.year, existing.name), None)
            for key in changed:
                setattr(existing, key, values[key])
            periods[(existing.year, existing.name)] = existing
            run.record("update", "report_period", existing.id_report_period, changed)
            run.summary.updated["periods"] += 1
        run.flush()


def _period_values(run: ImportRun, row: Row) -> dict[str, Any] | None:
    school_year = row.get("schoolYear")
    if not _SCHOOL_YEAR.match(school_year) or not (MIN_YEAR < int(school_year) <= MAX_YEAR + 1):
        run.error("academicSessions", row, "schoolYear is not a year such as 2027")
        return None
    try:
        starts_on = date.fromisoformat(row.get("startDate"))
        ends_on = date.fromisoformat(row.get("endDate"))
    except ValueError:
        run.error("academicSessions", row, "startDate or endDate is not a date")
        return None
    if ends_on < starts_on:
        run.error("academicSessions", row, "ends before it starts")
        return None
    name = period_name(row.get("title"))
    if not name:
        run.error("academicSessions", row, "no title")
        return None
    # OneRoster names a school year by the year it ends; reports by the one it starts.
    return {
        "year": int(school_year) - 1,
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }


def period_name(title: str) -> str:
    """A session's title as a report's `period` (at most 10 characters): spaces
    collapsed; a title over 10 characters that ends in a number by its initials
    ("Trimester 1" -> "T1", "Grading Period 3" -> "GP3"); anything else still too long
    is cut."""
    name = " ".join(title.split())
    if len(name) <= MAX_NAME_LENGTH:
        return name
    numbered = _NUMBERED_TITLE.match(name)
    if numbered is not None:
        initials = "".join(word[0] for word in numbered.group(1).split()).upper()
        return f"{initials}{numbered.group(2)}"
    return name[:MAX_NAME_LENGTH].rstrip()
