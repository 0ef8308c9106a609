"""Caseload links from classes: made by the import, ended when the roster marks the
last enrollment that justified them `tobedeleted`, audited with that import; links made
by hand are never touched. The import's audit rows go out in batches and are not kept
in memory. The command line's --json output stays JSON (SPEC section 15)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from goalpath import cli
from goalpath.audit.service import AuditTrail
from goalpath.db import Database
from goalpath.models import AuditEvent, Student, User, UserStudent
from goalpath.rosters.service import ImportOptions, import_roster
from tests.fixtures.oneroster import write_set
from tests.rosters.test_import import CLASSES, ENROLLMENTS, NOW, bulk_files, delta_manifest, run

runner = CliRunner()


def ids(database: Database) -> tuple[int, int, int]:
    """The teacher, student stu1 (S-1001) and student stu2."""
    with database.session_scope() as session:
        teacher = session.scalars(select(User.id_user).where(User.email.like("tessa%"))).one()
        first = session.scalars(
            select(Student.id_student).where(Student.identifier == "S-1001")
        ).one()
        second = session.scalars(
            select(Student.id_student).where(Student.identifier == "stu2user")
        ).one()
        return teacher, first, second


def links(database: Database) -> set[tuple[int | None, int | None]]:
    with database.session_scope() as session:
        return {
            (row[0], row[1])
            for row in session.execute(select(UserStudent.id_user, UserStudent.id_student))
        }


def deleted(sourced_id: str) -> list[str]:
    return [sourced_id, "tobedeleted", "2026-12-01", *[""] * (len(ENROLLMENTS[0]) - 3)]


def test_a_deleted_enrollment_ends_the_link_it_justified(
    database: Database, district: int, tmp_path: Path
) -> None:
    run(database, write_set(tmp_path / "bulk", bulk_files()), district, caseloads_from_classes=True)
    teacher, student, _ = ids(database)
    assert links(database) == {(teacher, student)}
    with database.session_scope() as session:
        id_link = session.scalars(select(UserStudent.id_user_student)).one()
    # The delta names the student's enrollment by its sourcedId alone.
    delta = {
        "manifest": delta_manifest("enrollments"),
        "enrollments": [ENROLLMENTS[0], deleted("e2")],
    }

    summary = run(database, write_set(tmp_path / "delta", delta), district, now=NOW)

    assert summary.errors == []
    assert summary.deactivated["assignments"] == 1
    assert links(database) == set()
    with database.session_scope() as session:
        row = session.scalars(
            select(AuditEvent).where(
                AuditEvent.resource == "student_access", AuditEvent.action == "delete"
            )
        ).one()
        assert row.record_id == str(id_link)
        assert row.id_student == student
        assert row.details is not None
        assert json.loads(row.details)["import"] == summary.import_id
        assert json.loads(row.details)["id_user"] == teacher


def test_a_link_made_by_hand_is_not_ended(
    database: Database, district: int, tmp_path: Path
) -> None:
    run(database, write_set(tmp_path / "bulk", bulk_files()), district)
    teacher, student, _ = ids(database)
    with database.session_scope() as session:
        session.add(
            UserStudent(id_user=teacher, id_student=student, access_level="write", is_primary=True)
        )
    delta = {
        "manifest": delta_manifest("enrollments"),
        "enrollments": [ENROLLMENTS[0], deleted("e2")],
    }

    summary = run(database, write_set(tmp_path / "delta", delta), district)

    assert summary.deactivated["assignments"] == 0
    assert links(database) == {(teacher, student)}


def test_a_link_another_class_still_justifies_stays_until_that_enrollment_goes_too(
    database: Database, district: int, tmp_path: Path
) -> None:
    files = bulk_files()
    files["classes"] = [
        *CLASSES,
        ["c2", "", "", "Math 3", "03", "co2", "M3", "scheduled", "", "s1", "t1", "", "", ""],
    ]
    files["enrollments"] = [
        *ENROLLMENTS,
        ["e4", "", "", "c2", "s1", "tch1", "teacher", "true", "", ""],
        ["e5", "", "", "c2", "s1", "stu1", "student", "false", "", ""],
    ]
    run(database, write_set(tmp_path / "bulk", files), district, caseloads_from_classes=True)
    teacher, student, _ = ids(database)
    assert links(database) == {(teacher, student)}

    first = {
        "manifest": delta_manifest("enrollments"),
        "enrollments": [ENROLLMENTS[0], deleted("e2")],
    }
    summary = run(database, write_set(tmp_path / "first", first), district)
    assert summary.deactivated["assignments"] == 0
    assert links(database) == {(teacher, student)}

    # The teacher leaves the second class: nothing justifies the link any more.
    second = {
        "manifest": delta_manifest("enrollments"),
        "enrollments": [ENROLLMENTS[0], deleted("e4")],
    }
    summary = run(database, write_set(tmp_path / "second", second), district)
    assert summary.deactivated["assignments"] == 1
    assert links(database) == set()


def test_a_delta_enrollment_links_to_the_teachers_of_an_earlier_import(
    database: Database, district: int, tmp_path: Path
) -> None:
    run(database, write_set(tmp_path / "bulk", bulk_files()), district, caseloads_from_classes=True)
    teacher, first, second = ids(database)
    # Only the new student's enrollment: the class's teacher is known from the bulk.
    delta = {
        "manifest": delta_manifest("enrollments"),
        "enrollments": [ENROLLMENTS[0], ["e3", "", "", "c1", "s1", "stu2", "student", "", "", ""]],
    }

    summary = run(
        database, write_set(tmp_path / "delta", delta), district, caseloads_from_classes=True
    )

    assert summary.created["assignments"] == 1
    assert links(database) == {(teacher, first), (teacher, second)}


def test_the_import_writes_its_audit_rows_in_batches_and_keeps_none(
    database: Database, district: int, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    trails: list[AuditTrail] = []
    original = AuditTrail.__init__

    def remember(self: AuditTrail, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        trails.append(self)

    monkeypatch.setattr(AuditTrail, "__init__", remember)
    with database.session_scope(writes=True) as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        import_roster(
            session,
            write_set(tmp_path / "set", bulk_files()),
            ImportOptions(id_school_district=district, caseloads_from_classes=True),
            now=NOW,
        )
        written = (session.scalar(select(func.count()).select_from(AuditEvent)) or 0) - before

    # 2 programs, 2 staff, 2 students, 3 memberships, 1 link, 2 periods, 1 import row.
    assert written == 13
    assert [trail.written for trail in trails] == [[]]


def test_json_output_is_pure_json_and_no_progress_without_a_terminal(
    cli_env: None,
    database: Database,
    district: int,
    tmp_path: Path,
) -> None:
    folder = write_set(tmp_path / "set", bulk_files())

    result = runner.invoke(
        cli.app, ["roster", "import", str(folder), "--district", str(district), "--json"]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"]["students"] == 2
    assert result.stdout.lstrip().startswith("{")
    assert result.stdout.rstrip().endswith("}")
    # stderr holds the notes only: no bar, no carriage returns.
    assert "\r" not in result.stderr
    assert "rows" not in result.stderr
    assert "demographics.csv" in result.stderr


def test_the_progress_bar_shows_files_and_rows_on_a_terminal() -> None:
    screen = io.StringIO()
    progress = cli.RosterProgress(Console(file=screen, force_terminal=True, width=100))
    with progress.bar:
        progress("checking users.csv", 500, None)
        progress("users.csv", 500, 1200)
        progress("users.csv", 1200, 1200)
    shown = screen.getvalue()
    assert "users.csv" in shown
    assert "1200/1200" in shown
