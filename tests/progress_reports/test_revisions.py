"""Report revisions (SPEC section 14): migration 0015 up and down on this backend, who
wrote a report's current text as its revisions tell it, the API's edits keep what they
replaced, and a deleted draft takes its revisions with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, inspect, select

from goalpath import migrations
from goalpath.config import Settings
from goalpath.db import Database, normalise_url
from goalpath.models import ProgressReportRevision
from goalpath.models.base import utcnow
from goalpath.progress_reports import revisions
from tests.fixtures import demo
from tests.fixtures.backends import throwaway_database
from tests.progress_reports.support import (
    API,
    assign,
    at,
    demo_programs,
    make_event,
    make_goal,
    make_student,
    sign_in,
)

TABLE = "progress_report_revision"


def test_migration_0015_up_and_down(backend: str, workdir: Path) -> None:
    with throwaway_database(backend, workdir) as url:
        engine = create_engine(normalise_url(url))
        try:
            migrations.upgrade(engine, "0015")
            inspector = inspect(engine)
            assert TABLE in inspector.get_table_names()
            indexes = {index["name"] for index in inspector.get_indexes(TABLE)}
            assert "ix_progress_report_revision_report" in indexes
            foreign = {key["referred_table"] for key in inspector.get_foreign_keys(TABLE)}
            assert foreign == {"progress_report", "user"}
            migrations.downgrade(engine, "0014")
            assert migrations.current_revision(engine) == "0014"
            assert TABLE not in inspect(engine).get_table_names()
            assert "progress_report" in inspect(engine).get_table_names()
            migrations.upgrade(engine)
            assert TABLE in inspect(engine).get_table_names()
        finally:
            engine.dispose()


def text(generated: bool = True) -> revisions.ReportText:
    return revisions.ReportText(7, "Some text.", at(2026, 1, 5) if generated else None, 3)


def test_who_wrote_the_current_text() -> None:
    assert revisions.writer_after(text(), None) == revisions.Writer(True, None, at(2026, 1, 5))
    # A report created with a text and never drafted: its creator wrote it.
    assert revisions.writer_after(text(False), None).staff_edited
    moment = utcnow()
    for reason, edited in (
        (revisions.EDITED, True),
        (revisions.DRAFTED_AGAIN, False),
        (revisions.EVENT_MARKED_SENSITIVE, False),
    ):
        newest = ProgressReportRevision(
            id_progress_report=7,
            summary="Before.",
            drafted=True,
            reason=reason,
            id_user_replaced=11,
            replaced_at=moment,
        )
        writer = revisions.writer_after(text(), newest)
        assert writer.staff_edited is edited
        assert writer.at == moment
        assert writer.id_user == (11 if edited else None)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def test_api_edits_keep_what_they_replace_and_a_deleted_draft_takes_them(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = make_student(database, demo_programs(database)[0], "RUSD-737001")
    assign(database, staff.first("case_manager"), id_student)
    reading = make_goal(database, id_student, "Reading fluency")
    make_event(database, id_student, reading, "Read 80 words a minute.", at(2025, 9, 3))
    headers = sign_in(client, settings, "case_manager")
    generated = client.post(
        f"{API}/progress-reports/generate",
        json={"period": "Q1", "year": 2025, "id_goal": reading},
        headers=headers,
    )
    assert generated.status_code == 200, generated.text
    (id_report,) = generated.json()["ids"]
    drafted = client.get(f"{API}/progress-reports/{id_report}", headers=headers).json()["summary"]
    for summary in ("First edit.", "First edit.", "Second edit."):
        response = client.patch(
            f"{API}/progress-reports/{id_report}", json={"summary": summary}, headers=headers
        )
        assert response.status_code == 200, response.text
    with database.session_scope() as session:
        kept = session.execute(
            select(
                ProgressReportRevision.summary,
                ProgressReportRevision.drafted,
                ProgressReportRevision.id_user_written,
                ProgressReportRevision.reason,
            )
            .where(ProgressReportRevision.id_progress_report == id_report)
            .order_by(ProgressReportRevision.id_progress_report_revision)
        ).all()
    # Saving the same text again replaced nothing.
    assert [tuple(row) for row in kept] == [
        (drafted, True, None, "edited"),
        ("First edit.", False, staff.first("case_manager"), "edited"),
    ]
    again = client.post(
        f"{API}/progress-reports/generate",
        json={"period": "Q1", "year": 2025, "id_goal": reading},
        headers=headers,
    )
    assert again.json()["skipped_edited"] == 1 and again.json()["ids"] == []

    administrator = sign_in(client, settings, "district_admin")
    deleted = client.delete(f"{API}/progress-reports/{id_report}", headers=administrator)
    assert deleted.status_code == 204, deleted.text
    with database.session_scope() as session:
        left = session.scalar(
            select(func.count()).where(ProgressReportRevision.id_progress_report == id_report)
        )
    assert left == 0
