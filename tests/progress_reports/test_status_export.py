"""/programs/{id}/report-status and /programs/{id}/progress-reports.csv: which reports
are missing, drafted or final, and the audited CSV export, both within the user's
scope and at a fixed statement count."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import SENSITIVE_NOTES
from goalpath.models import AuditEvent, ProgressReport
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.progress_reports.support import (
    API,
    SENSITIVE_MARKER,
    at,
    caseload,
    demo_district,
    demo_programs,
    make_district,
    make_event,
    make_goal,
    make_program,
    make_report,
    make_student,
    populate_program,
    root_goals_of,
    sign_in,
    students_of,
)

HEADER = [
    "identifier",
    "id_student",
    "id_goal",
    "goal_title",
    "period",
    "year",
    "status",
    "generated_at",
    "finalized_at",
    "summary",
]


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def status_url(id_program: int) -> str:
    return f"{API}/programs/{id_program}/report-status"


def export_url(id_program: int) -> str:
    return f"{API}/programs/{id_program}/progress-reports.csv"


def q1_reports(database: Database, students: set[int]) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(ProgressReport.id_progress_report)
                .where(
                    ProgressReport.id_student.in_(students),
                    ProgressReport.period == "Q1",
                    ProgressReport.year == 2025,
                )
                .order_by(ProgressReport.id_progress_report)
            )
        )


def finalise(database: Database, ids: list[int], when_: object) -> None:
    with database.session_scope() as session:
        session.execute(
            update(ProgressReport)
            .where(ProgressReport.id_progress_report.in_(ids))
            .values(finalized_at=when_)
        )


def test_the_status_board_counts_missing_draft_and_final(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    demo_students = students_of(database, id_program)
    roots = root_goals_of(database, demo_students)
    reports = q1_reports(database, demo_students)
    assert len(reports) == len(roots)
    # The demo's Q1 2025 reports are all final: reopen all but two.
    finalise(database, reports[2:], None)
    finalise(database, reports[:2], at(2025, 11, 10))
    newcomer = make_student(database, id_program, "RUSD-888001")
    science = make_goal(database, newcomer, "Science vocabulary")
    make_goal(database, newcomer, "Lab safety")
    make_goal(database, newcomer, "Terms", id_goal_parent=science)
    no_goals = make_student(database, id_program, "RUSD-888002")

    headers = sign_in(client, settings, "program_coordinator")
    response = client.get(
        status_url(id_program), params={"period": "Q1", "year": 2025}, headers=headers
    )
    assert response.status_code == 200, response.text
    board = response.json()
    assert (board["id_program"], board["period"], board["year"]) == (id_program, "Q1", 2025)
    assert board["totals"] == {"missing": 2, "draft": len(roots) - 2, "final": 2}
    by_student = {item["id_student"]: item for item in board["items"]}
    assert set(by_student) == demo_students | {newcomer, no_goals}
    assert by_student[newcomer]["identifier"] == "RUSD-888001"
    assert [(goal["title"], goal["status"]) for goal in by_student[newcomer]["goals"]] == [
        ("Science vocabulary", "missing"),
        ("Lab safety", "missing"),
    ]
    assert by_student[newcomer]["totals"] == {"missing": 2, "draft": 0, "final": 0}
    assert by_student[no_goals]["goals"] == []
    finals = [
        goal["id_progress_report"]
        for item in board["items"]
        for goal in item["goals"]
        if goal["status"] == "final"
    ]
    assert sorted(finals) == reports[:2]
    assert sum(len(item["goals"]) for item in board["items"]) == len(roots) + 2

    # Another period has every goal missing.
    q4 = client.get(status_url(id_program), params={"period": "Q4", "year": 2025}, headers=headers)
    assert q4.json()["totals"] == {"missing": len(roots) + 2, "draft": 0, "final": 0}

    mine = caseload(database, staff.first("case_manager"))
    case_manager = sign_in(client, settings, "case_manager")
    own = client.get(
        status_url(id_program), params={"period": "Q1", "year": 2025}, headers=case_manager
    )
    assert own.status_code == 200
    assert {item["id_student"] for item in own.json()["items"]} == mine
    assert own.json()["totals"]["missing"] == 0


def test_the_status_board_refusals(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    _, other_program = make_district(database)
    query: dict[str, str | int] = {"period": "Q1", "year": 2025}
    coordinator = sign_in(client, settings, "program_coordinator")
    assert (
        client.get(status_url(other_program), params=query, headers=coordinator).status_code == 404
    )
    # The second demo program is not the first coordinator's.
    second = demo_programs(database)[1]
    assert client.get(status_url(second), params=query, headers=coordinator).status_code == 404
    assert (
        client.get(
            status_url(id_program), params=query, headers=sign_in(client, settings, "nurse")
        ).status_code
        == 403
    )
    unknown = client.get(
        status_url(id_program), params={"period": "Q9", "year": 2025}, headers=coordinator
    )
    assert unknown.status_code == 422
    assert "T3" in unknown.json()["detail"]
    assert (
        client.get(status_url(id_program), params={"year": 2025}, headers=coordinator).status_code
        == 422
    )
    assert client.get(status_url(id_program), params=query).status_code == 401


def test_the_status_board_costs_the_same_for_3_or_30_students(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    district = demo_district(database)
    small = make_program(database, district, "Pilot A")
    large = make_program(database, district, "Pilot B")
    populate_program(database, small, 3, "PA")
    populate_program(database, large, 30, "PB")
    headers = sign_in(client, settings, "district_admin")
    counts = []
    for id_program, students in ((small, 3), (large, 30)):
        make_report(
            database,
            min(students_of(database, id_program)),
            min(root_goals_of(database, students_of(database, id_program))),
            "Q1",
            2026,
        )
        with count_statements(database.engine) as log:
            response = client.get(
                status_url(id_program), params={"period": "Q1", "year": 2026}, headers=headers
            )
        assert response.status_code == 200
        assert response.json()["totals"] == {"missing": students - 1, "draft": 1, "final": 0}
        counts.append(log.count)
    assert counts[0] == counts[1]


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    students = students_of(database, id_program)
    reports = q1_reports(database, students)
    tricky = 'He said "fine", then\nleft; next step: 3, 4'
    with database.session_scope() as session:
        session.execute(
            update(ProgressReport)
            .where(ProgressReport.id_progress_report == reports[0])
            .values(summary=tricky)
        )
        session.execute(
            update(ProgressReport)
            .where(ProgressReport.id_progress_report == reports[1])
            # A draft whatever the demo district made of it.
            .values(
                summary='=HYPERLINK("http://evil.example")',
                finalized_at=None,
                id_user_finalized=None,
            )
        )
    finalise(database, [reports[0]], at(2025, 11, 10))

    headers = sign_in(client, settings, "program_coordinator")
    response = client.get(
        export_url(id_program), params={"period": "Q1", "year": 2025}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.text)
    assert rows[0] == HEADER
    body = rows[1:]
    assert len(body) == len(reports)
    by_goal = {row[2]: dict(zip(HEADER, row, strict=True)) for row in body}
    with database.session_scope() as session:
        first = session.get(ProgressReport, reports[0])
        assert first is not None
        first_goal, first_student = first.id_goal, first.id_student
    row = by_goal[str(first_goal)]
    assert row["summary"] == tricky
    assert row["status"] == "final"
    assert row["finalized_at"].startswith("2025-11-10T12:00:00")
    assert row["id_student"] == str(first_student)
    assert row["period"] == "Q1" and row["year"] == "2025"
    assert row["identifier"].startswith("RUSD-")
    assert row["goal_title"]
    assert {r[6] for r in body} == {"draft", "final"}
    formulas = [r for r in body if r[9].startswith("'=")]
    assert [r[9] for r in formulas] == ['\'=HYPERLINK("http://evil.example")']
    # Sorted by identifier, then goal.
    assert [(r[0], int(r[2])) for r in body] == sorted((r[0], int(r[2])) for r in body)

    with database.session_scope() as session:
        exported = session.execute(
            select(AuditEvent.id_student, AuditEvent.details, AuditEvent.id_user).where(
                AuditEvent.action == "export", AuditEvent.resource == "progress_report"
            )
        ).all()
    assert {entry.id_student for entry in exported} == students
    assert len(exported) == len(students)
    assert {entry.id_user for entry in exported} == {staff.first("program_coordinator")}
    details = json.loads(exported[0].details)
    assert details["period"] == "Q1" and details["id_program"] == id_program
    assert details["reports"] >= 1

    case_manager = sign_in(client, settings, "case_manager")
    own = read_csv(
        client.get(
            export_url(id_program), params={"period": "Q1", "year": 2025}, headers=case_manager
        ).text
    )
    mine = caseload(database, staff.first("case_manager"))
    assert {int(r[1]) for r in own[1:]} == mine
    assert len(own) - 1 == len(q1_reports(database, mine))


def test_the_export_never_carries_sensitive_text(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    id_program = demo_programs(database)[0]
    id_student = min(
        caseload(database, staff.first("counselor")) & students_of(database, id_program)
    )
    id_goal = make_goal(database, id_student, "Self-regulation")
    make_event(database, id_student, id_goal, SENSITIVE_MARKER, at(2026, 1, 20), sensitive=True)
    make_event(database, id_student, id_goal, "Used the calm corner twice.", at(2026, 1, 21))
    # A counselor may read sensitive events, and still none goes into a report.
    counselor = sign_in(client, settings, "counselor")
    generated = client.post(
        f"{API}/progress-reports/generate",
        json={"period": "Q3", "year": 2025, "id_student": id_student},
        headers=counselor,
    )
    assert generated.status_code == 200, generated.text
    coordinator = sign_in(client, settings, "program_coordinator")
    assert (
        client.post(
            f"{API}/progress-reports/generate",
            json={"period": "Q3", "year": 2025, "id_program": id_program},
            headers=coordinator,
        ).status_code
        == 200
    )
    response = client.get(
        export_url(id_program), params={"period": "Q3", "year": 2025}, headers=coordinator
    )
    assert response.status_code == 200
    assert "Used the calm corner twice." in response.text
    assert SENSITIVE_MARKER not in response.text
    assert "KESTREL" not in response.text
    assert not any(note in response.text for note in SENSITIVE_NOTES)
    assert len(read_csv(response.text)) - 1 == len(
        root_goals_of(database, students_of(database, id_program))
    )


def test_export_refusals(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = demo_programs(database)[0]
    _, other_program = make_district(database)
    other_student = make_student(database, other_program, "LCS-0200")
    make_report(database, other_student, make_goal(database, other_student, "Count"), "Q1", 2025)
    query: dict[str, str | int] = {"period": "Q1", "year": 2025}
    admin = sign_in(client, settings, "district_admin")
    assert client.get(export_url(other_program), params=query, headers=admin).status_code == 404
    nurse = sign_in(client, settings, "nurse")
    assert client.get(export_url(id_program), params=query, headers=nurse).status_code == 403
    bad = client.get(export_url(id_program), params={"period": "Q1", "year": "x"}, headers=admin)
    assert bad.status_code == 422
    with database.session_scope() as session:
        exports = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.resource.in_(["progress_report", "program"]),
                AuditEvent.action.in_(["export", "read"]),
            )
        ).all()
    assert "allowed" not in exports
    assert exports.count("denied") == 2
