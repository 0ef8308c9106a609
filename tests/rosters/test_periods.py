"""Report periods from a roster's gradingPeriod and term sessions (SPEC sections 8, 15):
imported per district and school year, used by reports, defaults elsewhere."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.errors import ValidationFailed
from goalpath.models import AuditEvent, ProgressReport, ReportPeriod
from goalpath.progress_reports.generation import generate_reports
from goalpath.progress_reports.periods import period_dates, period_names
from goalpath.rosters.periods import period_name
from tests.fixtures import demo
from tests.fixtures.oneroster import write_set
from tests.progress_reports.support import (
    at,
    demo_district,
    demo_programs,
    make_district,
    make_event,
    make_goal,
    make_student,
)
from tests.rosters.test_import import NOW, run

SESSION_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
MANIFEST = [
    ["propertyName", "value"],
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
]


def sessions(*rows: list[str]) -> dict[str, list[list[str]]]:
    return {"manifest": MANIFEST, "academicSessions": [SESSION_HEADER, *rows]}


# OneRoster's schoolYear 2026 is the school year 2025-26: reports' year 2025.
YEAR = ["y", "", "", "2025-26", "schoolYear", "2025-08-25", "2026-06-12", "", "2026"]
WINTER = ["w", "", "", "Winter  Term", "term", "2025-12-01", "2026-03-01", "y", "2026"]
Q3 = ["g3", "", "", "Grading Period 3", "gradingPeriod", "2026-01-10", "2026-02-10", "w", "2026"]


def stored_periods(database: Database, id_district: int) -> dict[str, tuple[int, date, date]]:
    with database.session_scope() as session:
        return {
            period.name: (period.year, period.starts_on, period.ends_on)
            for period in session.scalars(
                select(ReportPeriod).where(ReportPeriod.id_school_district == id_district)
            )
        }


def test_titles_become_period_names_of_at_most_ten_characters() -> None:
    assert period_name("Q1") == "Q1"
    assert period_name("  Fall   2025 ") == "Fall 2025"
    assert period_name("Trimester 1") == "T1"
    assert period_name("Marking Period 12") == "MP12"
    assert period_name("First semester of the year") == "First seme"


def test_grading_periods_and_terms_become_the_districts_periods(
    database: Database, tmp_path: Path
) -> None:
    id_district, _ = make_district(database)
    summary = run(database, write_set(tmp_path / "set", sessions(YEAR, WINTER, Q3)), id_district)

    assert summary.errors == []
    assert summary.created["periods"] == 2
    assert stored_periods(database, id_district) == {
        "Winter Ter": (2025, date(2025, 12, 1), date(2026, 3, 1)),
        "GP3": (2025, date(2026, 1, 10), date(2026, 2, 10)),
    }
    with database.session_scope() as session:
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource == "report_period")
        ).all()
        assert audited == ["create", "create"]
        assert period_names(
            Settings(), session=session, id_school_district=id_district, year=2025
        ) == ["Winter Ter", "GP3"]

    again = run(database, write_set(tmp_path / "set", sessions(YEAR, WINTER, Q3)), id_district)
    assert again.created["periods"] == again.updated["periods"] == 0
    moved = [
        "g3",
        "",
        "",
        "Grading Period 3",
        "gradingPeriod",
        "2026-01-12",
        "2026-02-10",
        "w",
        "2026",
    ]
    delta = run(database, write_set(tmp_path / "moved", sessions(YEAR, WINTER, moved)), id_district)
    assert delta.updated["periods"] == 1
    assert stored_periods(database, id_district)["GP3"][1] == date(2026, 1, 12)


def test_bad_sessions_are_row_errors_and_a_name_is_taken_once(
    database: Database, tmp_path: Path
) -> None:
    id_district, _ = make_district(database)
    twin = [
        "g4",
        "",
        "",
        "Grading  Period 3",
        "gradingPeriod",
        "2026-02-11",
        "2026-03-10",
        "w",
        "2026",
    ]
    undated = ["g5", "", "", "Q5", "gradingPeriod", "soon", "2026-03-10", "w", "2026"]
    backwards = ["g6", "", "", "Q6", "gradingPeriod", "2026-03-10", "2026-02-10", "w", "2026"]
    files = sessions(YEAR, WINTER, Q3, twin, undated, backwards)
    summary = run(database, write_set(tmp_path / "set", files), id_district)

    assert [(error.line, error.sourced_id) for error in summary.errors] == [
        (5, "g4"),
        (6, "g5"),
        (7, "g6"),
    ]
    assert set(stored_periods(database, id_district)) == {"Winter Ter", "GP3"}


def test_reports_use_the_imported_dates_and_other_districts_keep_the_defaults(
    database: Database, settings: Settings, tmp_path: Path
) -> None:
    staff = demo.load(database, settings)
    id_district = demo_district(database)
    id_student = make_student(database, demo_programs(database)[0], "RUSD-888001")
    reading = make_goal(database, id_student, "Reading fluency")
    make_event(database, id_student, reading, "Before the imported Q3.", at(2026, 1, 5))
    make_event(database, id_student, reading, "Read 84 wpm.", at(2026, 1, 12))
    make_event(database, id_student, reading, "Read 90 wpm.", at(2026, 2, 3))
    make_event(database, id_student, reading, "After the imported Q3.", at(2026, 3, 1))
    q3 = ["g3", "", "", "Q3", "gradingPeriod", "2026-01-10", "2026-02-10", "", "2026"]
    run(database, write_set(tmp_path / "set", sessions(q3)), id_district, now=NOW)

    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, staff.first("program_coordinator"))
        result = generate_reports(authz, settings, period="Q3", year=2025, id_student=id_student)
        assert result.created == 1
        # The imported set replaces the defaults for that district and year.
        with pytest.raises(ValidationFailed, match="the periods are: Q3"):
            generate_reports(authz, settings, period="Q4", year=2025, id_student=id_student)
    with database.session_scope() as session:
        summary = session.scalar(
            select(ProgressReport.summary).where(ProgressReport.id_goal == reading)
        )
    assert summary is not None
    assert summary.startswith(
        "2 progress notes were logged for this goal between 2026-01-10 and 2026-02-10"
    ), summary

    other_district, _ = make_district(database, "Hillcrest Unified")
    with database.session_scope() as session:
        # Another district, and another school year of this one: the configured Q3.
        for district, year in ((other_district, 2025), (id_district, 2024)):
            first, last = period_dates(
                settings, "Q3", year, session=session, id_school_district=district
            )
            assert (first, last) == (date(year + 1, 1, 1), date(year + 1, 3, 15))
        assert period_dates(settings, "Q3", 2025) == (date(2026, 1, 1), date(2026, 3, 15))
