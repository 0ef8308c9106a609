"""An event marked sensitive after reports quoted it (SPEC section 14): the drafts that
may quote it are redrafted without it, the final ones are marked for review, and no
export (family PDF and CSV, program CSV) carries it; finalising again clears the mark.
Clearing the mark or editing an event's text changes no report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import ProgressReport
from goalpath.progress_reports.service import REVIEW_EVENT_SENSITIVE, REVIEW_NOTICE
from tests.conftest import Clock
from tests.fixtures import demo
from tests.progress_reports.support import (
    API,
    assign,
    at,
    demo_programs,
    make_event,
    make_goal,
    make_student,
    sign_in,
    staff_name,
)
from tests.users.helpers import audit_rows, last_audit_id
from tests.web.test_admin_pages import sign_in_demo, with_admin_pages
from tests.web.test_family_report import flat, pdf_text

# Text nothing else holds: wherever it shows up after the event is marked, it leaked.
MARKER = "Talked about the PLOVER-5150 matter at home"
KEPT = "Read 80 words a minute aloud."
MATH = "Counted to 100 by tens."
YEAR = 2025
# 10 September 2025 lies in Q1, S1 and T1 of school year 2025, not in Q2.
OBSERVED = at(2025, 9, 10)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_admin_pages(app), raise_server_exceptions=False) as client:
        yield client


@dataclass(frozen=True)
class Student:
    id_program: int
    id_student: int
    reading: int
    decoding: int
    math: int
    id_event: int


@pytest.fixture
def student(database: Database, staff: demo.DemoStaff) -> Student:
    """A student on the first counselor's and first case manager's caseloads: a reading
    goal with a decoding sub-goal, and a math goal; the counselor's note to be marked
    sensitive is on the sub-goal."""
    id_program = demo_programs(database)[0]
    id_student = make_student(database, id_program, "RUSD-515001")
    counselor = staff.first("counselor")
    assign(database, counselor, id_student)
    assign(database, staff.first("case_manager"), id_student)
    reading = make_goal(database, id_student, "Reading fluency")
    decoding = make_goal(database, id_student, "Decode words", id_goal_parent=reading)
    math = make_goal(database, id_student, "Math facts")
    make_event(database, id_student, reading, KEPT, at(2025, 9, 3), id_user_created=counselor)
    make_event(database, id_student, math, MATH, at(2025, 9, 12), id_user_created=counselor)
    id_event = make_event(
        database, id_student, decoding, MARKER, OBSERVED, id_user_created=counselor
    )
    return Student(id_program, id_student, reading, decoding, math, id_event)


def generate(client: TestClient, headers: dict[str, str], period: str, **target: int) -> list[int]:
    response = client.post(
        f"{API}/progress-reports/generate",
        json={"period": period, "year": YEAR, **target},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    ids: list[int] = response.json()["ids"]
    return ids


def report_id(database: Database, id_goal: int, period: str) -> int:
    with database.session_scope() as session:
        found = session.scalar(
            select(ProgressReport.id_progress_report).where(
                ProgressReport.id_goal == id_goal,
                ProgressReport.period == period,
                ProgressReport.year == YEAR,
            )
        )
    assert found is not None
    return found


def snapshot(database: Database, id_student: int) -> dict[int, tuple[Any, ...]]:
    with database.session_scope() as session:
        rows = session.execute(
            select(
                ProgressReport.id_progress_report,
                ProgressReport.summary,
                ProgressReport.generated_at,
                ProgressReport.finalized_at,
                ProgressReport.review_reason,
                ProgressReport.review_requested_at,
            ).where(ProgressReport.id_student == id_student)
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def mark(client: TestClient, headers: dict[str, str], id_event: int, **change: object) -> None:
    response = client.patch(f"{API}/progress-events/{id_event}", json=change, headers=headers)
    assert response.status_code == 200, response.text


def report_json(client: TestClient, headers: dict[str, str], id_report: int) -> dict[str, Any]:
    response = client.get(f"{API}/progress-reports/{id_report}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def family_csv(pages: TestClient, id_student: int, period: str) -> dict[int, dict[str, str]]:
    response = pages.get(
        f"/students/{id_student}/family-report.csv", params={"period": period, "year": YEAR}
    )
    assert response.status_code == 200, response.text
    assert "PLOVER" not in response.text
    return {int(row["id_goal"]): row for row in csv.DictReader(io.StringIO(response.text))}


def family_pdf(pages: TestClient, id_student: int, period: str) -> str:
    response = pages.get(
        f"/students/{id_student}/family-report.pdf", params={"period": period, "year": YEAR}
    )
    assert response.status_code == 200, response.text
    text = flat(pdf_text(response.content))
    assert "PLOVER" not in text
    return text


def program_csv(
    client: TestClient, headers: dict[str, str], id_program: int, period: str
) -> dict[int, dict[str, str]]:
    response = client.get(
        f"{API}/programs/{id_program}/progress-reports.csv",
        params={"period": period, "year": YEAR},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert "PLOVER" not in response.text
    return {int(row["id_goal"]): row for row in csv.DictReader(io.StringIO(response.text))}


def test_marking_an_event_sensitive_takes_it_out_of_drafts_and_exports(
    client: TestClient,
    pages: TestClient,
    database: Database,
    settings: Settings,
    student: Student,
    clock: Clock,
) -> None:
    counselor = sign_in(client, settings, "counselor")
    coordinator = sign_in(client, settings, "program_coordinator")
    case_manager = sign_in(client, settings, "case_manager")
    generate(client, counselor, "Q1", id_student=student.id_student)
    generate(client, counselor, "Q2", id_goal=student.reading)
    generate(client, counselor, "S1", id_goal=student.reading)
    generate(client, counselor, "T1", id_goal=student.reading)
    q1 = report_id(database, student.reading, "Q1")
    q1_math = report_id(database, student.math, "Q1")
    q2 = report_id(database, student.reading, "Q2")
    s1 = report_id(database, student.reading, "S1")
    t1 = report_id(database, student.reading, "T1")
    # Staff reworded one draft, keeping the quote; another report was signed off.
    edited = f"Staff wording. {MARKER}. More to come."
    response = client.patch(
        f"{API}/progress-reports/{t1}", json={"summary": edited}, headers=counselor
    )
    assert response.status_code == 200, response.text
    assert (
        client.post(f"{API}/progress-reports/{s1}/finalize", headers=counselor).status_code == 200
    )
    before = snapshot(database, student.id_student)
    assert all(MARKER in before[report][0] for report in (q1, s1, t1))
    # Before the change, the exports carry the note: what follows could fail.
    sign_in_demo(pages, settings, staff_name("case_manager"))
    assert (
        MARKER
        in pages.get(
            f"/students/{student.id_student}/family-report.csv",
            params={"period": "Q1", "year": YEAR},
        ).text
    )

    clock.advance(minutes=5)
    first_row = last_audit_id(database)
    mark(client, counselor, student.id_event, is_sensitive=True)

    after = snapshot(database, student.id_student)
    # Drafts that may quote it are drafted again, the staff-edited one too.
    for draft in (q1, t1):
        summary, generated_at, finalized_at, reason, requested = after[draft]
        assert MARKER not in summary and "PLOVER" not in summary
        assert KEPT in summary
        assert generated_at == clock.now
        assert (finalized_at, reason, requested) == (None, None, None)
    assert "Staff wording" not in after[t1][0]
    assert after[q1][0].startswith("1 progress note was logged for this goal")
    # Another goal's draft, and a period that does not hold the note's date, are left.
    assert after[q1_math] == before[q1_math]
    assert after[q2] == before[q2]
    # The final report keeps its signed-off text and waits for review.
    summary, generated_at, finalized_at, reason, requested = after[s1]
    assert (summary, generated_at, finalized_at) == before[s1][:3]
    assert (reason, requested) == (REVIEW_EVENT_SENSITIVE, clock.now)
    body = report_json(client, case_manager, s1)
    assert body["status"] == "final"
    assert body["review_reason"] == REVIEW_EVENT_SENSITIVE
    assert body["review_requested_at"] is not None
    assert report_json(client, case_manager, q1)["review_reason"] is None

    # No export carries the note; the final report's text is replaced by the notice.
    q1_family = family_csv(pages, student.id_student, "Q1")
    assert q1_family[student.reading]["summary"] == after[q1][0]
    assert q1_family[student.math]["summary"] == after[q1_math][0]
    s1_family = family_csv(pages, student.id_student, "S1")
    assert s1_family[student.reading]["summary"] == REVIEW_NOTICE
    assert s1_family[student.reading]["report_status"] == "final"
    assert flat(after[q1][0]) in family_pdf(pages, student.id_student, "Q1")
    s1_pdf = family_pdf(pages, student.id_student, "S1")
    assert REVIEW_NOTICE in s1_pdf and KEPT not in s1_pdf
    assert (
        program_csv(client, coordinator, student.id_program, "Q1")[student.reading]["summary"]
        == after[q1][0]
    )
    s1_program = program_csv(client, coordinator, student.id_program, "S1")
    assert s1_program[student.reading]["summary"] == REVIEW_NOTICE
    assert s1_program[student.reading]["status"] == "final"

    # One row per changed report, naming the event and the reason, never the text.
    rows = audit_rows(
        database, after=first_row, resource="progress_report", action="update", outcome="allowed"
    )
    by_report = {int(row["record_id"]): row for row in rows}
    assert sorted(by_report) == sorted([q1, t1, s1])
    for row in rows:
        assert row["id_student"] == student.id_student
        assert row["id_user"] is not None
        assert row["details"]["reason"] == REVIEW_EVENT_SENSITIVE
        assert row["details"]["id_progress_event"] == student.id_event
        assert "PLOVER" not in str(row["details"]) and "Staff wording" not in str(row["details"])
    assert by_report[q1]["details"]["fields"] == ["generated_at", "summary"]
    assert by_report[s1]["details"]["fields"] == ["review_reason", "review_requested_at"]

    # Reopening leaves the mark (the old text is still there); finalising clears it.
    assert (
        client.post(f"{API}/progress-reports/{s1}/reopen", headers=coordinator).status_code == 200
    )
    assert family_csv(pages, student.id_student, "S1")[student.reading]["summary"] == REVIEW_NOTICE
    reviewed = "Reads 80 words a minute; decoding practice continues."
    response = client.patch(
        f"{API}/progress-reports/{s1}", json={"summary": reviewed}, headers=counselor
    )
    assert response.status_code == 200, response.text
    finalised = client.post(f"{API}/progress-reports/{s1}/finalize", headers=counselor)
    assert finalised.status_code == 200, finalised.text
    assert finalised.json()["review_reason"] is None
    assert finalised.json()["review_requested_at"] is None
    assert family_csv(pages, student.id_student, "S1")[student.reading]["summary"] == reviewed
    assert (
        program_csv(client, coordinator, student.id_program, "S1")[student.reading]["summary"]
        == reviewed
    )
    (finalize_row,) = audit_rows(
        database, after=first_row, resource="progress_report", action="finalize"
    )
    assert finalize_row["details"]["fields"] == [
        "finalized_at",
        "id_user_finalized",
        "review_reason",
        "review_requested_at",
    ]


def test_clearing_the_mark_or_editing_an_event_changes_no_report(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    student: Student,
    clock: Clock,
) -> None:
    counselor = sign_in(client, settings, "counselor")
    sensitive = make_event(
        database,
        student.id_student,
        student.reading,
        "A sensitive note from the start.",
        at(2025, 9, 20),
        sensitive=True,
        id_user_created=staff.first("counselor"),
    )
    generate(client, counselor, "Q1", id_student=student.id_student)
    generate(client, counselor, "S1", id_goal=student.reading)
    s1 = report_id(database, student.reading, "S1")
    assert (
        client.post(f"{API}/progress-reports/{s1}/finalize", headers=counselor).status_code == 200
    )
    before = snapshot(database, student.id_student)
    clock.advance(minutes=5)
    first_row = last_audit_id(database)

    mark(client, counselor, student.id_event, content=f"{MARKER}, reworded.")
    mark(client, counselor, sensitive, content="Still sensitive, reworded.")
    mark(client, counselor, sensitive, is_sensitive=False)

    assert snapshot(database, student.id_student) == before
    assert audit_rows(database, after=first_row, resource="progress_report") == []
    assert (
        len(audit_rows(database, after=first_row, resource="progress_event", action="update")) == 3
    )


def test_a_note_moved_to_another_goal_is_still_found_by_its_line(
    client: TestClient,
    database: Database,
    settings: Settings,
    student: Student,
    clock: Clock,
) -> None:
    """The Q1 reading draft quoted the note while it was on the decoding sub-goal; moved
    to math since, the note is then marked sensitive. The reading draft still holds its
    line and is redrafted; the math draft, on the note's goal, is redrafted too."""
    counselor = sign_in(client, settings, "counselor")
    generate(client, counselor, "Q1", id_student=student.id_student)
    q1 = report_id(database, student.reading, "Q1")
    q1_math = report_id(database, student.math, "Q1")
    mark(client, counselor, student.id_event, id_goal=student.math)
    assert MARKER in snapshot(database, student.id_student)[q1][0]

    clock.advance(minutes=5)
    mark(client, counselor, student.id_event, is_sensitive=True)

    after = snapshot(database, student.id_student)
    for draft in (q1, q1_math):
        assert MARKER not in after[draft][0]
        assert after[draft][1] == clock.now
    assert KEPT in after[q1][0] and MATH in after[q1_math][0]


def test_moving_and_marking_at_once_redrafts_the_old_goals_draft(
    client: TestClient,
    database: Database,
    settings: Settings,
    student: Student,
    clock: Clock,
) -> None:
    counselor = sign_in(client, settings, "counselor")
    generate(client, counselor, "Q1", id_student=student.id_student)
    q1 = report_id(database, student.reading, "Q1")
    clock.advance(minutes=5)
    mark(client, counselor, student.id_event, id_goal=student.math, is_sensitive=True)
    summary, generated_at, *_ = snapshot(database, student.id_student)[q1]
    assert MARKER not in summary and generated_at == clock.now


def test_a_refused_mark_changes_no_report(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    student: Student,
) -> None:
    # The case manager wrote this note and may edit it, but may not mark it sensitive.
    own = make_event(
        database,
        student.id_student,
        student.reading,
        f"{MARKER}, by the case manager.",
        at(2025, 9, 11),
        id_user_created=staff.first("case_manager"),
    )
    counselor = sign_in(client, settings, "counselor")
    generate(client, counselor, "Q1", id_student=student.id_student)
    before = snapshot(database, student.id_student)
    case_manager = sign_in(client, settings, "case_manager")
    response = client.patch(
        f"{API}/progress-events/{own}", json={"is_sensitive": True}, headers=case_manager
    )
    assert response.status_code == 403
    assert snapshot(database, student.id_student) == before
