"""POST /progress-reports/generate and generate_reports(): one report per root goal of
every student in scope, drafted from the period's non-sensitive events of the goal and
its sub-goals; idempotent; final reports untouched; a fixed number of statements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import SENSITIVE_NOTES
from goalpath.errors import Forbidden
from goalpath.models import AuditEvent, Goal, ProgressEvent, ProgressReport
from goalpath.progress_reports.generation import MAX_EXCERPT, generate_reports
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.progress_reports.support import (
    API,
    SENSITIVE_MARKER,
    assign,
    at,
    caseload,
    demo_district,
    demo_programs,
    make_district,
    make_event,
    make_goal,
    make_program,
    make_student,
    populate_program,
    root_goals_of,
    sign_in,
    students_of,
)

GENERATE = f"{API}/progress-reports/generate"
LONG_NOTE = "Worked   on vowel teams\n\nin a small group" + " with careful modelling" * 20


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@dataclass(frozen=True)
class Reader:
    """A student of the demo's first program with a known goal tree and events."""

    id_program: int
    id_student: int
    reading: int
    decoding: int
    vowel_teams: int
    math: int


@pytest.fixture
def reader(database: Database, staff: demo.DemoStaff) -> Reader:
    id_program = demo_programs(database)[0]
    id_student = make_student(database, id_program, "RUSD-777001")
    reading = make_goal(database, id_student, "Reading fluency")
    decoding = make_goal(database, id_student, "Decode words", id_goal_parent=reading)
    vowel_teams = make_goal(database, id_student, "Vowel teams", id_goal_parent=decoding)
    math = make_goal(database, id_student, "Math facts")
    # Q3 of school year 2025 runs from 2026-01-01 to 2026-03-15.
    make_event(database, id_student, reading, "Read 84 wpm with 2 errors.", at(2026, 1, 12))
    make_event(database, id_student, decoding, "Decoded 18 of 20 words.", at(2026, 2, 3))
    make_event(database, id_student, reading, SENSITIVE_MARKER, at(2026, 2, 20), sensitive=True)
    make_event(database, id_student, vowel_teams, LONG_NOTE, at(2026, 3, 10))
    make_event(database, id_student, decoding, "Late entry: 19 of 20.", at(2026, 3, 15, 23))
    make_event(database, id_student, reading, "Next quarter already.", at(2026, 3, 16, 0))
    make_event(database, id_student, reading, "Last year's note.", at(2025, 12, 31, 23))
    return Reader(id_program, id_student, reading, decoding, vowel_teams, math)


def reports_of(database: Database, period: str, year: int) -> list[ProgressReport]:
    with database.session_scope() as session:
        reports = list(
            session.scalars(
                select(ProgressReport)
                .where(ProgressReport.period == period, ProgressReport.year == year)
                .order_by(ProgressReport.id_progress_report)
            )
        )
        session.expunge_all()
        return reports


def summary_of(database: Database, id_goal: int, period: str = "Q3", year: int = 2025) -> str:
    with database.session_scope() as session:
        summary = session.scalar(
            select(ProgressReport.summary).where(
                ProgressReport.id_goal == id_goal,
                ProgressReport.period == period,
                ProgressReport.year == year,
            )
        )
        assert summary is not None
        return summary


def generate(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, Any]:
    response = client.post(GENERATE, json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_program_gets_one_report_per_root_goal_without_sensitive_events(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    reader: Reader,
    clock: Clock,
) -> None:
    students = students_of(database, reader.id_program)
    roots = root_goals_of(database, students)
    with database.session_scope() as session:
        demo_sensitive = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(
                ProgressEvent.id_student.in_(students),
                ProgressEvent.is_sensitive.is_(True),
                ProgressEvent.created_at >= at(2026, 1, 1, 0),
                ProgressEvent.created_at < at(2026, 3, 16, 0),
            )
        )
    # The demo itself holds sensitive notes in the period, besides this test's marker.
    assert demo_sensitive is not None and demo_sensitive > 1

    headers = sign_in(client, settings, "program_coordinator")
    result = generate(client, headers, period="Q3", year=2025, id_program=reader.id_program)
    assert result["created"] == len(roots)
    assert (result["updated"], result["skipped_final"], result["skipped_forbidden"]) == (0, 0, 0)

    reports = reports_of(database, "Q3", 2025)
    assert sorted(result["ids"]) == [report.id_progress_report for report in reports]
    assert {report.id_goal for report in reports} == roots
    assert len(reports) == len(roots)
    assert {report.id_student for report in reports} == students
    assert {report.generated_at for report in reports} == {clock.now}
    assert {report.id_user_created for report in reports} == {staff.first("program_coordinator")}
    assert all(report.finalized_at is None for report in reports)
    for report in reports:
        assert report.summary
        assert SENSITIVE_MARKER not in report.summary
        assert not any(note in report.summary for note in SENSITIVE_NOTES)

    reading = summary_of(database, reader.reading).split("\n")
    assert reading[0] == (
        "4 progress notes were logged for this goal between 2026-01-01 and 2026-03-15 "
        "(1 note on the goal itself and 3 on its sub-goals); the first on 2026-01-12 and "
        "the last on 2026-03-15."
    )
    assert reading[1:3] == ["", "Most recent notes:"]
    assert reading[3] == "- 2026-03-15: Late entry: 19 of 20."
    long_line = reading[4].removeprefix("- 2026-03-10: ")
    assert long_line.startswith("Worked on vowel teams in a small group with careful")
    assert long_line.endswith("\u2026")
    assert len(long_line) <= MAX_EXCERPT
    assert reading[5] == "- 2026-02-03: Decoded 18 of 20 words."
    assert len(reading) == 6
    assert summary_of(database, reader.math) == (
        "No progress was logged for this goal between 2026-01-01 and 2026-03-15."
    )

    with database.session_scope() as session:
        audited = session.execute(
            select(AuditEvent.record_id, AuditEvent.id_student, AuditEvent.details).where(
                AuditEvent.resource == "progress_report", AuditEvent.action == "create"
            )
        ).all()
    assert sorted(int(row.record_id) for row in audited) == sorted(result["ids"])
    assert {row.id_student for row in audited} == students
    details = json.loads(audited[0].details)
    assert details["fields"] == [
        "generated_at",
        "id_goal",
        "id_student",
        "period",
        "summary",
        "year",
    ]
    assert "Read 84" not in audited[0].details


def test_regeneration_redrafts_drafts_and_leaves_final_reports_alone(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    reader: Reader,
    clock: Clock,
) -> None:
    coordinator = sign_in(client, settings, "program_coordinator")
    first = generate(client, coordinator, period="Q3", year=2025, id_student=reader.id_student)
    assert first["created"] == 2
    with database.session_scope() as session:
        math_report = session.scalar(
            select(ProgressReport.id_progress_report).where(ProgressReport.id_goal == reader.math)
        )
    final = client.post(f"{API}/progress-reports/{math_report}/finalize", headers=coordinator)
    assert final.status_code == 200
    final_before = summary_of(database, reader.math)

    make_event(database, reader.id_student, reader.math, "Recalled 40 facts.", at(2026, 2, 2))
    make_event(database, reader.id_student, reader.decoding, "Decoded 20/20.", at(2026, 3, 1))
    generated_first = clock.now
    clock.advance(minutes=10)
    again = generate(client, coordinator, period="Q3", year=2025, id_student=reader.id_student)
    assert (again["created"], again["updated"], again["skipped_final"]) == (0, 1, 1)
    assert again["ids"] == [id_report for id_report in first["ids"] if id_report != math_report]

    assert summary_of(database, reader.reading).startswith("5 progress notes were logged")
    assert summary_of(database, reader.math) == final_before
    by_goal = {report.id_goal: report for report in reports_of(database, "Q3", 2025)}
    assert by_goal[reader.reading].generated_at == clock.now
    assert by_goal[reader.math].generated_at == generated_first
    assert by_goal[reader.math].finalized_at is not None
    with database.session_scope() as session:
        updates = session.scalars(
            select(AuditEvent.record_id).where(
                AuditEvent.resource == "progress_report", AuditEvent.action == "update"
            )
        ).all()
    assert updates == [str(by_goal[reader.reading].id_progress_report)]


def test_a_case_manager_generates_for_her_caseload_only(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    mine = caseload(database, staff.first("case_manager"))
    assert students_of(database, id_program) - mine
    headers = sign_in(client, settings, "case_manager")
    result = generate(client, headers, period="Q4", year=2025, id_program=id_program)
    reports = reports_of(database, "Q4", 2025)
    assert result["created"] == len(reports) == len(root_goals_of(database, mine))
    assert {report.id_student for report in reports} == mine


def test_targets_one_goal_or_one_student(
    client: TestClient, database: Database, settings: Settings, reader: Reader
) -> None:
    headers = sign_in(client, settings, "program_coordinator")
    one = generate(client, headers, period="T2", year=2025, id_goal=reader.reading)
    assert one["created"] == 1
    assert [report.id_goal for report in reports_of(database, "T2", 2025)] == [reader.reading]
    sub_goal = client.post(
        GENERATE, json={"period": "T2", "year": 2025, "id_goal": reader.decoding}, headers=headers
    )
    assert sub_goal.status_code == 422
    assert "root goal" in sub_goal.json()["detail"]
    student = generate(client, headers, period="T2", year=2025, id_student=reader.id_student)
    assert (student["created"], student["updated"]) == (1, 1)
    assert {report.id_goal for report in reports_of(database, "T2", 2025)} == {
        reader.reading,
        reader.math,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"period": "Q1", "year": 2025},
        {"period": "Q1", "year": 2025, "id_student": 1, "id_program": 1},
        {"period": "Q1", "year": "2025", "id_program": 1},
        {"period": "Q1", "year": 2025, "id_program": 1, "summary": "x"},
        {"period": "FIRST-QUARTER", "year": 2025, "id_program": 1},
        {"period": "Q1", "year": 10_000, "id_program": 1},
    ],
)
def test_bad_requests_are_422(
    client: TestClient, settings: Settings, staff: demo.DemoStaff, body: dict[str, object]
) -> None:
    headers = sign_in(client, settings, "program_coordinator")
    assert client.post(GENERATE, json=body, headers=headers).status_code == 422


def test_an_unknown_period_lists_the_valid_ones(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "program_coordinator")
    body = {"period": "Q5", "year": 2025, "id_program": demo_programs(database)[0]}
    response = client.post(GENERATE, json=body, headers=headers)
    assert response.status_code == 422
    assert "Q1, Q2, Q3, Q4, S1, S2, T1, T2, T3" in response.json()["detail"]
    assert reports_of(database, "Q5", 2025) == []


def test_scope_refusals(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    nurse = sign_in(client, settings, "nurse")
    body = {"period": "Q3", "year": 2025, "id_program": id_program}
    assert client.post(GENERATE, json=body, headers=nurse).status_code == 403
    outsider = min(
        students_of(database, id_program) - caseload(database, staff.first("case_manager"))
    )
    case_manager = sign_in(client, settings, "case_manager")
    body = {"period": "Q3", "year": 2025, "id_student": outsider}
    assert client.post(GENERATE, json=body, headers=case_manager).status_code == 404

    _, other_program = make_district(database)
    other_student = make_student(database, other_program, "LCS-0100")
    other_goal = make_goal(database, other_student, "Count to 20")
    admin = sign_in(client, settings, "district_admin")
    for target in (
        {"id_program": other_program},
        {"id_student": other_student},
        {"id_goal": other_goal},
    ):
        response = client.post(
            GENERATE, json={"period": "Q3", "year": 2025, **target}, headers=admin
        )
        assert response.status_code == 404, target
    assert reports_of(database, "Q3", 2025) == []


def test_generation_costs_the_same_statements_for_3_or_30_students(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    district = demo_district(database)
    small = make_program(database, district, "Pilot A")
    large = make_program(database, district, "Pilot B")
    populate_program(database, small, 3, "PA")
    populate_program(database, large, 30, "PB")
    headers = sign_in(client, settings, "district_admin")
    counts: dict[str, list[int]] = {"created": [], "updated": []}
    for id_program, students in ((small, 3), (large, 30)):
        for expected in ("created", "updated"):
            body = {"period": "Q1", "year": 2026, "id_program": id_program}
            with count_statements(database.engine) as log:
                result = generate(client, headers, **body)
            assert result[expected] == students
            counts[expected].append(log.count)
    assert counts["created"][0] == counts["created"][1]
    assert counts["updated"][0] == counts["updated"][1]
    # The pilot programs' reports come after any the demo district has for the period.
    summary = reports_of(database, "Q1", 2026)[-1].summary or ""
    assert summary.startswith("2 progress notes were logged for this goal")


def test_generate_reports_runs_without_http(
    database: Database, settings: Settings, staff: demo.DemoStaff, reader: Reader
) -> None:
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, staff.first("program_coordinator"))
        result = generate_reports(
            authz, settings, period="Q3", year=2025, id_student=reader.id_student
        )
    assert result.created == 2
    assert {report.id_goal for report in reports_of(database, "Q3", 2025)} == {
        reader.reading,
        reader.math,
    }
    with database.session_scope() as session:
        authz = demo.authorizer_for(database, session, staff.first("nurse"))
        with pytest.raises(Forbidden):
            generate_reports(authz, settings, period="Q3", year=2025, id_program=reader.id_program)


def test_a_districts_own_periods_apply(
    database: Database, settings: Settings, staff: demo.DemoStaff, reader: Reader, clock: Clock
) -> None:
    custom = settings.model_copy(
        update={"report_periods": json.dumps({"Winter": ["12-01", "02-29"]})}
    )
    application = create_app(custom, database)
    application.state.clock = clock
    with TestClient(application, raise_server_exceptions=False) as client:
        headers = sign_in(client, settings, "program_coordinator")
        result = generate(client, headers, period="Winter", year=2025, id_goal=reader.reading)
        assert result["created"] == 1
        refused = client.post(
            GENERATE,
            json={"period": "Q3", "year": 2025, "id_goal": reader.reading},
            headers=headers,
        )
        assert refused.status_code == 422
        assert "Winter" in refused.json()["detail"]
    # 2025-12-01 to 2026-02-28: the notes of 31 December, January and February.
    assert summary_of(database, reader.reading, "Winter").startswith(
        "3 progress notes were logged for this goal between 2025-12-01 and 2026-02-28 "
        "(2 notes on the goal itself and 1 on its sub-goals); the first on 2025-12-31 "
        "and the last on 2026-02-03."
    )


def test_a_goal_whose_sub_goals_have_no_events_counts_only_its_own(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    id_student = make_student(database, id_program, "RUSD-777002")
    root = make_goal(database, id_student, "Writing")
    make_goal(database, id_student, "Capitals", id_goal_parent=root)
    make_event(database, id_student, root, "Wrote a paragraph.", at(2025, 9, 4))
    assign(database, staff.first("case_manager"), id_student)
    headers = sign_in(client, settings, "case_manager")
    assert generate(client, headers, period="Q1", year=2025, id_goal=root)["created"] == 1
    assert summary_of(database, root, "Q1") == (
        "1 progress note was logged for this goal between 2025-08-01 and 2025-10-15 "
        "(1 note on the goal itself and 0 on its sub-goals), on 2025-09-04.\n\nThe note:\n"
        "- 2025-09-04: Wrote a paragraph."
    )
    with database.session_scope() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Goal).where(Goal.id_student == id_student)
            )
            == 2
        )
