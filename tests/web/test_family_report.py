"""The family progress report (SPEC section 8): a PDF with each goal, its report text
for the period and a chart of logged progress, never a sensitive event; a CSV beside
it; every export audited; a student outside the viewer's scope is 404."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, insert, or_, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Goal, ProgressEvent, ProgressReport, Student, UserStudent
from tests.fixtures import demo
from tests.users.helpers import audit_rows, last_audit_id
from tests.web.test_admin_pages import (
    AUDITOR,
    CASE_MANAGER,
    COUNSELOR,
    NURSE,
    sign_in_demo,
    with_admin_pages,
)

# Text no demo record contains: if it shows up in an export, an event leaked.
SENSITIVE_MARKER = "Confidential disclosure KESTREL-4471 about the family"
EVENT_MARKER = "Practised counting coins ORIOLE-2208 with the class"
PERIOD, YEAR = "Q1", 2025
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
FIRST_DAY, LAST_DAY = date(2025, 8, 1), date(2025, 10, 15)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_admin_pages(app), raise_server_exceptions=False) as client:
        yield client


def shared_student(database: Database, staff: demo.DemoStaff) -> int:
    """A student on both the first case manager's and the first counselor's caseload."""
    with database.session_scope() as session:
        case_manager = select(UserStudent.id_student).where(
            UserStudent.id_user == staff.first("case_manager")
        )
        found = session.scalar(
            select(UserStudent.id_student)
            .where(
                UserStudent.id_user == staff.first("counselor"),
                UserStudent.id_student.in_(case_manager),
            )
            .order_by(UserStudent.id_student)
        )
    assert found is not None
    return found


def unassigned_student(database: Database, staff: demo.DemoStaff) -> int:
    with database.session_scope() as session:
        mine = select(UserStudent.id_student).where(
            UserStudent.id_user == staff.first("case_manager")
        )
        found = session.scalar(
            select(Student.id_student).where(Student.id_student.not_in(mine)).limit(1)
        )
    assert found is not None
    return found


def plant_events(database: Database, id_student: int, id_user: int) -> int:
    """A sensitive and a plain event on the student's first root goal, in Q1 2025."""
    with database.session_scope() as session:
        id_goal = session.scalar(
            select(Goal.id_goal)
            .where(Goal.id_student == id_student, Goal.id_goal_parent.is_(None))
            .order_by(Goal.id_goal)
        )
        assert id_goal is not None
        stamp = datetime(2025, 9, 10, 15, tzinfo=UTC)
        session.execute(
            insert(ProgressEvent),
            [
                {
                    "id_student": id_student,
                    "id_goal": id_goal,
                    "id_user_created": id_user,
                    "content": content,
                    "is_sensitive": sensitive,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for content, sensitive in ((SENSITIVE_MARKER, True), (EVENT_MARKER, False))
            ],
        )
    return id_goal


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def flat(text: str) -> str:
    """Text as extracted, with its line breaks and hyphenation undone."""
    return " ".join(text.split())


def report_url(id_student: int, extension: str = "pdf") -> str:
    return f"/students/{id_student}/family-report.{extension}"


def test_the_pdf_holds_goals_reports_and_counts_but_no_event(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff)
    id_goal = plant_events(database, id_student, staff.first("counselor"))
    with database.session_scope() as session:
        titles = list(
            session.scalars(
                select(Goal.title).where(Goal.id_student == id_student).order_by(Goal.id_goal)
            )
        )
        summaries = list(
            session.scalars(
                select(ProgressReport.summary).where(
                    ProgressReport.id_student == id_student,
                    ProgressReport.period == PERIOD,
                    ProgressReport.year == YEAR,
                )
            )
        )
        plain_in_period = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(
                ProgressEvent.id_goal.in_(
                    select(Goal.id_goal).where(
                        or_(Goal.id_goal == id_goal, Goal.id_goal_parent == id_goal)
                    )
                ),
                ProgressEvent.is_sensitive.is_(False),
                ProgressEvent.created_at >= datetime(2025, 8, 1, tzinfo=UTC),
                ProgressEvent.created_at < datetime(2025, 10, 16, tzinfo=UTC),
            )
        )
    assert titles and summaries

    # The counselor may read sensitive events; the family's copy still never has one.
    sign_in_demo(pages, settings, COUNSELOR)
    before = last_audit_id(database)
    started = time.monotonic()
    response = pages.get(report_url(id_student), params={"period": PERIOD, "year": str(YEAR)})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert "attachment;" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "family-report.pdf").write_bytes(response.content)
    assert elapsed < 10

    text = flat(pdf_text(response.content))
    for title in titles:
        assert flat(title or "") in text
    for summary in summaries:
        assert flat(summary or "") in text
    assert "Q1: 1 August 2025 to 15 October 2025" in text
    assert SENSITIVE_MARKER not in text
    assert "KESTREL" not in text
    assert "ORIOLE" not in text
    # The planted plain event is counted, the sensitive one is not.
    times = "time" if plain_in_period == 1 else "times"
    assert f"Progress was recorded {plain_in_period} {times} during this period" in text
    assert "Entries per month: Aug 2025:" in text

    (row,) = audit_rows(database, after=before, action="export", resource="progress_report")
    assert row["id_student"] == id_student
    assert row["outcome"] == "allowed"
    assert row["details"]["format"] == "pdf"
    assert row["details"]["period"] == PERIOD and row["details"]["year"] == YEAR
    assert row["details"]["reports"] == len(summaries)


def test_the_pdf_is_tagged_and_titled(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff)
    sign_in_demo(pages, settings, CASE_MANAGER)
    response = pages.get(report_url(id_student), params={"period": "Q2", "year": "2025"})
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata is not None
    assert str(reader.metadata.title).startswith("Progress report for RUSD-")
    catalog = reader.trailer["/Root"]
    # Tagged PDF: assistive technology reads the structure (headings, lists, the chart's
    # description), not just glyphs.
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "en"


def test_the_csv_has_one_row_per_goal_and_no_event(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff)
    plant_events(database, id_student, staff.first("counselor"))
    sign_in_demo(pages, settings, CASE_MANAGER)
    before = last_audit_id(database)
    response = pages.get(
        report_url(id_student, "csv"), params={"period": PERIOD, "year": str(YEAR)}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "KESTREL" not in response.text and "ORIOLE" not in response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    with database.session_scope() as session:
        roots = list(
            session.scalars(
                select(Goal.id_goal)
                .where(Goal.id_student == id_student, Goal.id_goal_parent.is_(None))
                .order_by(Goal.id_goal)
            )
        )
    assert [int(row["id_goal"]) for row in rows] == roots
    # The demo's reports of last school year are final.
    assert {row["report_status"] for row in rows} == {"final"}
    assert all(row["summary"] for row in rows)
    assert all(row["period_start"] == FIRST_DAY.isoformat() for row in rows)
    assert all(int(row["entries_in_school_year"]) >= int(row["entries_in_period"]) for row in rows)
    (row,) = audit_rows(database, after=before, action="export", resource="progress_report")
    assert row["id_student"] == id_student and row["details"]["format"] == "csv"


def test_a_case_manager_gets_404_for_a_student_outside_their_caseload(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    outside = unassigned_student(database, staff)
    sign_in_demo(pages, settings, CASE_MANAGER)
    before = last_audit_id(database)
    for extension in ("pdf", "csv"):
        response = pages.get(
            report_url(outside, extension), params={"period": PERIOD, "year": str(YEAR)}
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
    assert (
        pages.get(report_url(99_999_999), params={"period": "Q1", "year": "2025"}).status_code
        == 404
    )
    assert audit_rows(database, after=before, action="export", outcome="allowed") == []
    denied = audit_rows(database, after=before, outcome="denied", id_student=outside)
    assert len(denied) == 2


@pytest.mark.parametrize("name", [NURSE, AUDITOR])
def test_roles_without_report_rights_are_refused(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, name: str
) -> None:
    id_student = shared_student(database, staff)
    sign_in_demo(pages, settings, name)
    response = pages.get(report_url(id_student), params={"period": PERIOD, "year": str(YEAR)})
    # Both read the student (program or district scope), neither reads reports.
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("period", "year", "message"),
    [
        ("", "2025", "Choose a reporting period"),
        ("Q9", "2025", "the periods are: Q1, Q2"),
        ("Q1\x00", "2025", "Choose a reporting period"),
        ("X" * 5000, "2025", "Choose a reporting period"),
        ("Q1", "", "such as 2025"),
        ("Q1", "twenty", "such as 2025"),
        ("Q1", "1e3", "such as 2025"),
        ("Q1", "99999999999", "such as 2025"),
        ("Q1", "1066", "between 1900 and 9998"),
    ],
)
def test_bad_periods_and_years_are_422(
    pages: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    period: str,
    year: str,
    message: str,
) -> None:
    id_student = shared_student(database, staff)
    sign_in_demo(pages, settings, CASE_MANAGER)
    response = pages.get(report_url(id_student), params={"period": period, "year": year})
    assert response.status_code == 422
    assert message in response.text
