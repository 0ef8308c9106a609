"""/students/{id}/progress-reports and /progress-reports/{id}: scoped lists, edits of
drafts only, finalising, reopening by program-wide staff only, cross-district 404s."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, ProgressReport
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.progress_reports.support import (
    API,
    at,
    caseload,
    make_district,
    make_goal,
    make_report,
    make_student,
    sign_in,
)

REPORTS = f"{API}/progress-reports"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def first_report_of(
    database: Database, students: set[int], *, draft: bool = False
) -> ProgressReport:
    with database.session_scope() as session:
        statement = (
            select(ProgressReport)
            .where(ProgressReport.id_student.in_(students))
            .order_by(ProgressReport.id_progress_report)
        )
        if draft:
            statement = statement.where(ProgressReport.finalized_at.is_(None))
        report = session.scalars(statement).first()
        assert report is not None
        session.expunge(report)
        return report


def audit_rows(database: Database, id_report: int) -> list[tuple[str, str, str | None]]:
    with database.session_scope() as session:
        return [
            (row.action, row.outcome, row.details)
            for row in session.execute(
                select(AuditEvent.action, AuditEvent.outcome, AuditEvent.details)
                .where(
                    AuditEvent.resource == "progress_report",
                    AuditEvent.record_id == str(id_report),
                )
                .order_by(AuditEvent.id_audit_event)
            )
        ]


def test_a_students_reports_are_listed_filtered_and_paged(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    mine = caseload(database, staff.first("case_manager"))
    id_student = min(mine)
    with database.session_scope() as session:
        rows = session.execute(
            select(
                ProgressReport.id_progress_report,
                ProgressReport.id_goal,
                ProgressReport.period,
                ProgressReport.year,
                ProgressReport.finalized_at,
            )
            .where(ProgressReport.id_student == id_student)
            .order_by(ProgressReport.id_progress_report)
        ).all()
        expected = [row.id_progress_report for row in rows]
        q1_goal = session.scalar(
            select(ProgressReport.id_goal).where(
                ProgressReport.id_student == id_student, ProgressReport.period == "Q1"
            )
        )
    assert len(expected) >= 4
    url = f"{API}/students/{id_student}/progress-reports"

    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["id_progress_report"] for item in items] == expected
    # The demo's reports of 2025 are final, and some of this year's are drafts.
    assert [item["status"] for item in items] == [
        "draft" if row.finalized_at is None else "final" for row in rows
    ]
    assert {item["status"] for item in items} == {"draft", "final"}
    assert {item["id_student"] for item in items} == {id_student}

    q1 = client.get(url, params={"period": "Q1", "year": 2025}, headers=headers).json()["items"]
    assert [item["id_progress_report"] for item in q1] == [
        row.id_progress_report for row in rows if (row.period, row.year) == ("Q1", 2025)
    ]
    assert len(q1) >= 2
    assert {item["period"] for item in q1} == {"Q1"}
    assert client.get(url, params={"year": 2024}, headers=headers).json()["items"] == []
    by_goal = client.get(url, params={"id_goal": q1_goal}, headers=headers).json()["items"]
    assert {item["id_goal"] for item in by_goal} == {q1_goal}
    assert sorted((item["year"], item["period"]) for item in by_goal) == sorted(
        (row.year, row.period) for row in rows if row.id_goal == q1_goal
    )
    assert {(2025, "Q1"), (2025, "Q2")} <= {(item["year"], item["period"]) for item in by_goal}

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get(url, params=params, headers=headers).json()
        seen.extend(item["id_progress_report"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_the_list_costs_the_same_statements_for_one_row_or_fifty(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "program_coordinator")
    id_student = min(caseload(database, staff.first("case_manager")))
    url = f"{API}/students/{id_student}/progress-reports"
    counts = []
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get(url, params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        counts.append((log.count, len(response.json()["items"])))
    (few_statements, few_items), (many_statements, many_items) = counts
    assert few_items == 1 and many_items >= 4
    assert few_statements == many_statements


def test_lists_outside_the_scope_are_404_and_without_the_right_403(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    mine = caseload(database, staff.first("case_manager"))
    others = caseload(database, staff.by_role["case_manager"][1])
    outsider = min(others - mine)
    headers = sign_in(client, settings, "case_manager")
    assert (
        client.get(f"{API}/students/{outsider}/progress-reports", headers=headers).status_code
        == 404
    )
    report = first_report_of(database, {outsider})
    assert client.get(f"{REPORTS}/{report.id_progress_report}", headers=headers).status_code == 404
    # A nurse reads the program's students but not their reports.
    nurse = sign_in(client, settings, "nurse")
    assert (
        client.get(f"{API}/students/{outsider}/progress-reports", headers=nurse).status_code == 403
    )


def test_edit_finalise_and_reopen(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    case_manager = sign_in(client, settings, "case_manager")
    coordinator = sign_in(client, settings, "program_coordinator")
    district_admin = sign_in(client, settings, "district_admin")
    report = first_report_of(database, caseload(database, staff.first("case_manager")), draft=True)
    url = f"{REPORTS}/{report.id_progress_report}"

    edited = client.patch(url, json={"summary": "Reads 92 wpm; on track."}, headers=case_manager)
    assert edited.status_code == 200, edited.text
    assert edited.json()["summary"] == "Reads 92 wpm; on track."
    assert edited.json()["period"] == report.period

    finalised = client.post(f"{url}/finalize", headers=case_manager)
    assert finalised.status_code == 200, finalised.text
    assert finalised.json()["status"] == "final"
    assert finalised.json()["id_user_finalized"] == staff.first("case_manager")
    assert finalised.json()["finalized_at"] is not None
    assert client.post(f"{url}/finalize", headers=coordinator).status_code == 409

    refused = client.patch(url, json={"summary": "Changed after sign-off."}, headers=case_manager)
    assert refused.status_code == 409
    assert "reopen" in refused.json()["detail"]
    assert client.delete(url, headers=district_admin).status_code == 409
    assert client.get(url, headers=case_manager).json()["summary"] == "Reads 92 wpm; on track."

    assert client.post(f"{url}/reopen", headers=case_manager).status_code == 403
    reopened = client.post(f"{url}/reopen", headers=coordinator)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "draft"
    assert reopened.json()["finalized_at"] is None
    assert reopened.json()["id_user_finalized"] is None
    assert client.post(f"{url}/reopen", headers=coordinator).status_code == 409
    again = client.patch(url, json={"summary": "Reads 95 wpm."}, headers=case_manager)
    assert again.status_code == 200

    rows = audit_rows(database, report.id_progress_report)
    assert [(action, outcome) for action, outcome, _ in rows] == [
        ("update", "allowed"),
        ("finalize", "allowed"),
        # The GET of the final report above: a read of the student's record.
        ("read", "allowed"),
        ("reopen", "denied"),
        ("reopen", "allowed"),
        ("update", "allowed"),
    ]
    assert json.loads(rows[0][2] or "{}") == {"fields": ["summary"]}
    # Field names only: the text itself is never written to the trail.
    assert all("wpm" not in (details or "") for _, _, details in rows)


def test_summary_input_is_strict(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    report = first_report_of(database, caseload(database, staff.first("case_manager")), draft=True)
    url = f"{REPORTS}/{report.id_progress_report}"
    assert client.patch(url, json={"summary": "x" * 20_001}, headers=headers).status_code == 422
    assert client.patch(url, json={"summary": None}, headers=headers).status_code == 422
    assert client.patch(url, json={"period": "Q4"}, headers=headers).status_code == 422
    assert client.patch(url, json={"summary": 5}, headers=headers).status_code == 422
    longest = client.patch(url, json={"summary": "y" * 20_000}, headers=headers)
    assert longest.status_code == 200
    assert len(longest.json()["summary"]) == 20_000
    unchanged = client.patch(url, json={}, headers=headers)
    assert unchanged.status_code == 200
    assert unchanged.json()["summary"] == "y" * 20_000


def test_only_roles_with_the_delete_right_delete_drafts(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    report = first_report_of(database, caseload(database, staff.first("case_manager")), draft=True)
    url = f"{REPORTS}/{report.id_progress_report}"
    for role in ("case_manager", "program_coordinator"):
        assert client.delete(url, headers=sign_in(client, settings, role)).status_code == 403
    admin = sign_in(client, settings, "district_admin")
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url, headers=admin).status_code == 404
    assert ("delete", "allowed", None) in audit_rows(database, report.id_progress_report)


def test_another_districts_reports_do_not_exist_for_demo_staff(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _, id_program = make_district(database)
    id_student = make_student(database, id_program, "LCS-0001")
    id_goal = make_goal(database, id_student, "Count to 100")
    draft = make_report(database, id_student, id_goal, "Q1", 2025)
    final = make_report(database, id_student, id_goal, "Q2", 2025, finalized_at=at(2026, 1, 9))
    for role in ("district_admin", "program_coordinator", "case_manager"):
        headers = sign_in(client, settings, role)
        assert (
            client.get(f"{API}/students/{id_student}/progress-reports", headers=headers).status_code
            == 404
        )
        for id_report in (draft, final):
            url = f"{REPORTS}/{id_report}"
            assert client.get(url, headers=headers).status_code == 404
            assert client.patch(url, json={"summary": "x"}, headers=headers).status_code == 404
            assert client.delete(url, headers=headers).status_code == 404
            assert client.post(f"{url}/finalize", headers=headers).status_code == 404
            assert client.post(f"{url}/reopen", headers=headers).status_code == 404
    with database.session_scope() as session:
        summaries = set(
            session.scalars(
                select(ProgressReport.summary).where(ProgressReport.id_student == id_student)
            )
        )
    assert summaries == {"A drafted summary."}


def test_a_system_administrator_reopens_anywhere(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _, id_program = make_district(database)
    id_student = make_student(database, id_program, "LCS-0002")
    id_goal = make_goal(database, id_student, "Tie shoes")
    final = make_report(database, id_student, id_goal, "Q1", 2025, finalized_at=at(2026, 1, 9))
    admin = sign_in(client, settings, "system_admin")
    response = client.post(f"{REPORTS}/{final}/reopen", headers=admin)
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
