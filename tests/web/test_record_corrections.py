"""Correcting one's records in the pages (SPEC section 14): edit, move and delete a
progress note, rewrite and delete a health note, flag and unflag a note sensitive with
the right (and the reports that quoted it), refusals in words, stale edits refused, the
goal picker that keeps its choice, and a student page whose statement count does not
grow with the records it shows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import (
    AuditEvent,
    HealthNote,
    ProgressEvent,
    ProgressReport,
    Student,
    UserStudent,
)
from goalpath.models.base import utcnow
from goalpath.progress_reports.periods import current_period
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.health_notes.support import sign_in as api_sign_in
from tests.web.test_staff_pages import (
    CASE_MANAGER,
    COUNSELOR,
    NOT_FOUND,
    PROBLEM,
    caseload,
    post,
    program_of,
    root_goals,
    shared_student,
    sign_in,
    snapshot,
    user_id,
    with_staff_pages,
)

ETAG = re.compile(r'name="etag" value="([^"]+)"')
HTMX = {"HX-Request": "true"}
GOAL_SELECTED = re.compile(r'value="\d+" selected')
NO_FLAG_RIGHT = "needs the right to read sensitive events of this student"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI, staff: demo.DemoStaff) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


# -- helpers -----------------------------------------------------------------------------


def log(pages: TestClient, id_student: int, content: str, **fields: str) -> int:
    """Log an event through the page; its id."""
    response = post(
        pages, f"/students/{id_student}/progress-events", {"content": content, **fields}
    )
    assert response.status_code == 303, response.text[:400]
    return newest(pages, ProgressEvent.id_progress_event)


def add_note(pages: TestClient, id_student: int, content: str) -> int:
    response = post(pages, f"/students/{id_student}/health-notes", {"content": content})
    assert response.status_code == 303, response.text[:400]
    return newest(pages, HealthNote.id_health_note)


def newest(pages: TestClient, key: Any) -> int:
    app: Any = pages.app
    database: Database = app.state.database
    with database.session_scope() as session:
        found = session.scalar(select(func.max(key)))
        assert found is not None
        return int(found)


def counselors_records(
    pages: TestClient, settings: Settings, staff: demo.DemoStaff, event: str, note: str
) -> tuple[int, int, int]:
    """A student of the counselor's and the case manager's, and a progress note and a
    health note the counselor wrote for them (she stays signed in)."""
    app: Any = pages.app
    id_student = shared_student(app.state.database, staff, CASE_MANAGER, COUNSELOR)
    sign_in(pages, settings, COUNSELOR)
    return id_student, log(pages, id_student, event), add_note(pages, id_student, note)


def event_row(database: Database, id_event: int) -> tuple[Any, ...] | None:
    with database.session_scope() as session:
        row = session.execute(
            select(ProgressEvent.content, ProgressEvent.id_goal, ProgressEvent.is_sensitive).where(
                ProgressEvent.id_progress_event == id_event
            )
        ).one_or_none()
        return tuple(row) if row is not None else None


def note_text(database: Database, settings: Settings, id_note: int) -> str | None:
    with database.session_scope() as session:
        stored = session.scalar(
            select(HealthNote.content).where(HealthNote.id_health_note == id_note)
        )
    if stored is None:
        return None
    return HealthNoteCipher.from_settings(settings).decrypt(stored)


def audit_rows(
    database: Database, resource: str, record_id: int, action: str, outcome: str = "allowed"
) -> list[Any]:
    """The details of the matching audit rows, oldest first."""
    with database.session_scope() as session:
        return [
            json.loads(details or "{}")
            for details in session.scalars(
                select(AuditEvent.details)
                .where(
                    AuditEvent.resource == resource,
                    AuditEvent.record_id == str(record_id),
                    AuditEvent.action == action,
                    AuditEvent.outcome == outcome,
                )
                .order_by(AuditEvent.id_audit_event)
            )
        ]


def etag_of(page: str) -> str:
    found = ETAG.search(page)
    assert found, page[:400]
    return found.group(1).replace("&#34;", '"')


def edit(pages: TestClient, path: str, **fields: str) -> httpx2.Response:
    """Post the edit form of `path` as it is shown now, with `fields` changed."""
    shown = pages.get(f"{path}/edit")
    assert shown.status_code == 200, shown.text[:400]
    return post(pages, f"{path}/edit", {"etag": etag_of(shown.text), **fields})


def refused_in_words(response: httpx2.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text[:400]
    assert words in response.text
    for code in ("progress_event:", "health_note:", "read_sensitive", "string_type"):
        assert code not in response.text


# -- progress notes ------------------------------------------------------------------------


def test_edit_move_and_delete_a_progress_note(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    first_goal, second_goal = root_goals(database, id_student)[:2]
    sign_in(pages, settings, CASE_MANAGER)
    id_event = log(pages, id_student, "Read 30 words per minute.", id_goal=str(first_goal))
    page = pages.get(f"/students/{id_student}").text
    assert f'href="/progress-events/{id_event}/edit"' in page
    assert f'href="/progress-events/{id_event}/delete"' in page

    form = pages.get(f"/progress-events/{id_event}/edit")
    assert form.status_code == 200
    assert "Edit the progress note" in form.text
    assert 'id="record-sensitive"' not in form.text  # a case manager may not flag
    saved = post(
        pages,
        f"/progress-events/{id_event}/edit",
        {
            "etag": etag_of(form.text),
            "content": "Read 34 words per minute.\r\nOne prompt.",
            "id_goal": str(second_goal),
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/students/{id_student}#progress"
    assert "Progress note saved." in pages.get(saved.headers["location"]).text
    assert event_row(database, id_event) == (
        "Read 34 words per minute.\nOne prompt.",
        second_goal,
        False,
    )
    updates = audit_rows(database, "progress_event", id_event, "update")
    assert [row["fields"] for row in updates] == [["content", "id_goal"]]

    # Out of any goal, then nothing to change.
    unlinked = edit(
        pages, f"/progress-events/{id_event}", content="Read 34 words per minute.", id_goal=""
    )
    assert unlinked.status_code == 303
    assert event_row(database, id_event) == ("Read 34 words per minute.", None, False)
    same = edit(
        pages, f"/progress-events/{id_event}", content="Read 34 words per minute.", id_goal=""
    )
    assert "Nothing was changed." in pages.get(same.headers["location"]).text
    assert len(audit_rows(database, "progress_event", id_event, "update")) == 2

    # Delete asks first; the confirm page changes nothing.
    confirm = pages.get(f"/progress-events/{id_event}/delete")
    assert confirm.status_code == 200
    assert "Delete the progress note?" in confirm.text
    assert "Read 34 words per minute." in confirm.text
    assert event_row(database, id_event) is not None
    deleted = post(pages, f"/progress-events/{id_event}/delete", {})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/students/{id_student}#progress"
    assert "Progress note deleted." in pages.get(deleted.headers["location"]).text
    assert event_row(database, id_event) is None
    assert len(audit_rows(database, "progress_event", id_event, "delete")) == 1
    gone = pages.get(f"/progress-events/{id_event}/edit")
    assert gone.status_code == 404 and NOT_FOUND in gone.text


def test_bad_input_changes_nothing(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student, other_student = caseload(database, user_id(staff, CASE_MANAGER))[:2]
    sign_in(pages, settings, CASE_MANAGER)
    id_event = log(pages, id_student, "Counted to 20.")
    before = event_row(database, id_event)
    path = f"/progress-events/{id_event}"
    empty = edit(pages, path, content="  ")
    assert empty.status_code == 422 and PROBLEM in empty.text
    assert "Describe the progress." in empty.text
    foreign_goal = edit(
        pages, path, content="x", id_goal=str(root_goals(database, other_student)[0])
    )
    refused_in_words(foreign_goal, 422, "must be one of this student&#39;s goals")
    for bad in ("abc", "-1", "99999999999"):
        assert edit(pages, path, content="x", id_goal=bad).status_code == 422
    assert edit(pages, path, content="x", is_sensitive="maybe").status_code == 422
    assert event_row(database, id_event) == before
    for address in ("/progress-events/abc/edit", "/progress-events/0/edit", "/health-notes/x/edit"):
        assert pages.get(address).status_code == 404
        assert post(pages, address, {"content": "x"}).status_code == 404
    assert audit_rows(database, "progress_event", id_event, "update") == []


def test_another_staff_members_note_cannot_be_changed(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student, id_event, id_note = counselors_records(
        pages, settings, staff, "Counselor's note on turn-taking (unique 2b7e).", "(unique 5d10)"
    )

    sign_in(pages, settings, CASE_MANAGER)
    page = pages.get(f"/students/{id_student}").text
    assert "unique 2b7e" in page
    assert f"/progress-events/{id_event}/edit" not in page
    assert f"/progress-events/{id_event}/delete" not in page
    before = snapshot(database)
    for response in (
        pages.get(f"/progress-events/{id_event}/edit"),
        pages.get(f"/progress-events/{id_event}/delete"),
        post(pages, f"/progress-events/{id_event}/edit", {"content": "Mine now"}),
        post(pages, f"/progress-events/{id_event}/delete", {}),
    ):
        alert = re.search(r'role="alert">([^<]*)<', response.text)
        assert response.status_code == 403 and alert, response.text[:400]
        assert alert.group(1).startswith("You may read this progress note"), alert.group(1)
    # Health notes are hidden from a case manager altogether.
    for response in (
        pages.get(f"/health-notes/{id_note}/edit"),
        post(pages, f"/health-notes/{id_note}/edit", {"content": "x"}),
        post(pages, f"/health-notes/{id_note}/delete", {}),
    ):
        assert response.status_code == 404
    assert snapshot(database) == before
    assert event_row(database, id_event) == (
        "Counselor's note on turn-taking (unique 2b7e).",
        None,
        False,
    )
    assert audit_rows(database, "progress_event", id_event, "update", "denied")
    assert audit_rows(database, "progress_event", id_event, "delete", "denied")


def test_a_stale_edit_is_refused(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    _student, id_event, id_note = counselors_records(
        pages, settings, staff, "First version.", "First version of the note."
    )
    for path, field_text, read in (
        (f"/progress-events/{id_event}", "event", lambda: event_row(database, id_event)[0]),  # type: ignore[index]
        (f"/health-notes/{id_note}", "note", lambda: note_text(database, settings, id_note)),
    ):
        stale = etag_of(pages.get(f"{path}/edit").text)
        first = post(pages, f"{path}/edit", {"etag": stale, "content": f"Second {field_text}."})
        assert first.status_code == 303
        second = post(pages, f"{path}/edit", {"etag": stale, "content": f"Third {field_text}."})
        refused_in_words(second, 412, "changed since you read it")
        assert PROBLEM in second.text
        # The form keeps what was typed, to apply again.
        assert f"Third {field_text}." in second.text
        assert read() == f"Second {field_text}."


# -- sensitive --------------------------------------------------------------------------------


def test_a_counselor_unflags_and_reflags_a_note(
    pages: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    app: FastAPI,
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    id_goal = root_goals(database, id_student)[0]
    secret = "Talked about a worry at home; plan agreed (unique 41c9)."
    sign_in(pages, settings, COUNSELOR)
    id_event = log(pages, id_student, secret, id_goal=str(id_goal), is_sensitive="on")
    form = pages.get(f"/progress-events/{id_event}/edit").text
    assert 'id="record-sensitive"' in form and "checked" in form

    # Unflagged: the case manager sees it, and her draft quotes it.
    unflagged = edit(pages, f"/progress-events/{id_event}", content=secret, id_goal=str(id_goal))
    assert unflagged.status_code == 303
    assert "no longer marked sensitive" in pages.get(unflagged.headers["location"]).text
    assert event_row(database, id_event) == (secret, id_goal, False)
    sign_in(pages, settings, CASE_MANAGER)
    assert "unique 41c9" in pages.get(f"/students/{id_student}").text
    period, year = current_period(settings, app.state.clock().date())
    drafted = post(
        pages, f"/goals/{id_goal}/progress-reports", {"period": period, "year": str(year)}
    )
    assert drafted.status_code == 303, drafted.text[:400]
    with database.session_scope() as session:
        report = session.scalars(
            select(ProgressReport).where(
                ProgressReport.id_goal == id_goal,
                ProgressReport.period == period,
                ProgressReport.year == year,
            )
        ).one()
        id_report, summary = report.id_progress_report, report.summary or ""
    assert "unique 41c9" in summary

    # Flagged again: gone from her page, and the draft redrafted without it.
    sign_in(pages, settings, COUNSELOR)
    flagged = edit(
        pages,
        f"/progress-events/{id_event}",
        content=secret,
        id_goal=str(id_goal),
        is_sensitive="on",
    )
    assert flagged.status_code == 303
    assert "marked sensitive" in pages.get(flagged.headers["location"]).text
    assert event_row(database, id_event) == (secret, id_goal, True)
    with database.session_scope() as session:
        redrafted = session.get(ProgressReport, id_report)
        assert redrafted is not None and "unique 41c9" not in (redrafted.summary or "")
    assert [
        row["fields"] for row in audit_rows(database, "progress_event", id_event, "update")
    ] == [
        ["is_sensitive"],
        ["is_sensitive"],
    ]
    sign_in(pages, settings, CASE_MANAGER)
    for text in (pages.get(f"/students/{id_student}").text, pages.get(f"/goals/{id_goal}").text):
        assert "unique 41c9" not in text
    assert pages.get(f"/progress-events/{id_event}/edit").status_code == 404


def test_without_the_right_no_flag_control_and_a_forged_flag_is_refused(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    sign_in(pages, settings, CASE_MANAGER)
    id_event = log(pages, id_student, "Worked with a peer for ten minutes.")
    form = pages.get(f"/progress-events/{id_event}/edit").text
    assert 'id="record-sensitive"' not in form and 'name="is_sensitive"' not in form
    before = snapshot(database)
    forged = edit(
        pages, f"/progress-events/{id_event}", content="Worked with a peer.", is_sensitive="on"
    )
    refused_in_words(forged, 403, NO_FLAG_RIGHT)
    assert PROBLEM in forged.text
    assert snapshot(database) == before
    assert event_row(database, id_event) == ("Worked with a peer for ten minutes.", None, False)
    denied = audit_rows(database, "progress_event", id_event, "update", "denied")
    assert [row["reason"] for row in denied] == ["sensitive_flag"]


# -- health notes ------------------------------------------------------------------------------


def test_rewrite_and_delete_a_health_note(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    sign_in(pages, settings, COUNSELOR)
    id_note = add_note(pages, id_student, "Asthma plan on file (unique 0f3a).")
    page = pages.get(f"/students/{id_student}").text
    assert f'href="/health-notes/{id_note}/edit"' in page

    form = pages.get(f"/health-notes/{id_note}/edit").text
    assert "Edit the health note" in form
    assert "no sensitive mark" in form and 'name="is_sensitive"' not in form
    saved = edit(
        pages, f"/health-notes/{id_note}", content="Asthma plan updated.\r\nInhaler at the office."
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/students/{id_student}#health"
    assert "Health note saved." in pages.get(saved.headers["location"]).text
    assert note_text(database, settings, id_note) == "Asthma plan updated.\nInhaler at the office."
    assert [row["fields"] for row in audit_rows(database, "health_note", id_note, "update")] == [
        ["content"]
    ]
    empty = edit(pages, f"/health-notes/{id_note}", content="")
    assert empty.status_code == 422 and "Write the note." in empty.text

    confirm = pages.get(f"/health-notes/{id_note}/delete")
    assert confirm.status_code == 200 and "Delete the health note?" in confirm.text
    deleted = post(pages, f"/health-notes/{id_note}/delete", {})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/students/{id_student}#health"
    assert "Health note deleted." in pages.get(deleted.headers["location"]).text
    assert note_text(database, settings, id_note) is None
    assert len(audit_rows(database, "health_note", id_note, "delete")) == 1


def test_the_api_takes_the_notes_etag(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    sign_in(pages, settings, COUNSELOR)
    id_note = add_note(pages, id_student, "A note for the API.")
    api_client = TestClient(pages.app)
    api = api_sign_in(api_client, demo_email(COUNSELOR), settings.demo_password)
    got = api_client.get(f"/api/v1/health-notes/{id_note}", headers=api)
    assert got.status_code == 200
    etag = got.headers["etag"]
    assert etag == etag_of(pages.get(f"/health-notes/{id_note}/edit").text)
    changed = api_client.patch(
        f"/api/v1/health-notes/{id_note}",
        json={"content": "Changed by the API."},
        headers={**api, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    again = api_client.patch(
        f"/api/v1/health-notes/{id_note}",
        json={"content": "Stale."},
        headers={**api, "If-Match": etag},
    )
    assert again.status_code == 412
    assert changed.headers["etag"] != etag
    stale = post(
        pages, f"/health-notes/{id_note}/edit", {"etag": etag, "content": "From the page."}
    )
    assert stale.status_code == 412
    assert note_text(database, settings, id_note) == "Changed by the API."


# -- the log form and the cost of the page --------------------------------------------------


def log_goal_options(page: str) -> str:
    """The goal choices of the "log progress" form."""
    return page.split('id="log-goal"', 1)[1].split("</select>", 1)[0]


def test_the_goal_picker_keeps_its_choice(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[1]
    chosen = f'<option value="{id_goal}" selected>'
    sign_in(pages, settings, CASE_MANAGER)
    assert not GOAL_SELECTED.search(log_goal_options(pages.get(f"/students/{id_student}").text))
    logged = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": "Matched 8 of 10 pictures.", "id_goal": str(id_goal)},
    )
    assert logged.status_code == 303
    assert logged.headers["location"] == f"/students/{id_student}?goal={id_goal}#progress"
    page = pages.get(logged.headers["location"]).text
    assert chosen in log_goal_options(page)
    assert re.search(r'id="log-content"[^>]*></textarea>', page)

    htmx = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": "Matched 9 of 10 pictures.", "id_goal": str(id_goal)},
        headers=HTMX,
    )
    assert htmx.status_code == 200 and "<html" not in htmx.text
    assert chosen in log_goal_options(htmx.text)
    # No goal chosen: the form starts on none again.
    plain = post(pages, f"/students/{id_student}/progress-events", {"content": "Of no goal."})
    assert plain.headers["location"] == f"/students/{id_student}#progress"
    for address in (f"/students/{id_student}?goal=abc", f"/students/{id_student}?goal=999999"):
        shown = pages.get(address)
        assert shown.status_code == 200
        assert not GOAL_SELECTED.search(log_goal_options(shown.text))


def test_the_student_page_costs_the_same_statements_for_any_number_of_records(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    counselor, case_manager = user_id(staff, COUNSELOR), user_id(staff, CASE_MANAGER)
    id_program = program_of(database, shared_student(database, staff, CASE_MANAGER, COUNSELOR))
    now = utcnow()
    with database.session_scope() as session:
        student = Student(id_program=id_program, identifier="RC-0001", created_at=now)
        session.add(student)
        session.flush()
        id_student = student.id_student
        session.add_all(
            UserStudent(id_user=id_user, id_student=id_student, access_level="write")
            for id_user in (counselor, case_manager)
        )
    cipher = HealthNoteCipher.from_settings(settings)

    def add_records(count: int) -> None:
        with database.session_scope() as session:
            for number in range(count):
                author = case_manager if number % 2 else counselor
                session.add(
                    ProgressEvent(
                        id_student=id_student,
                        id_user_created=author,
                        content=f"Event {number}",
                        is_sensitive=number % 3 == 0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.add(
                    HealthNote(
                        id_student=id_student,
                        id_user_created=counselor,
                        content=cipher.encrypt(f"Note {number}"),
                        created_at=now,
                    )
                )

    sign_in(pages, settings, COUNSELOR)
    counts = []
    for more in (1, 24):
        add_records(more)
        with count_statements(database.engine) as statements:
            response = pages.get(f"/students/{id_student}")
        assert response.status_code == 200
        edits = len(re.findall(r'href="/(?:progress-events|health-notes)/\d+/edit"', response.text))
        counts.append((statements.count, edits))
    assert 2 <= counts[0][1] < counts[1][1]
    assert counts[0][0] == counts[1][0], counts
