"""Nothing a person wrote is lost (SPEC section 14), in the pages: Finalise saves the
edit first; drafting again, in bulk or for one report, never replaces text that staff
edited without asking; the text replaced is kept as a revision and listed on the
report's page, withheld from those who may not read the sensitive note it quoted; the
page costs the same statements whatever the number of revisions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import ProgressReport, ProgressReportRevision
from goalpath.models.base import utcnow
from goalpath.progress_reports import revisions
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.progress_reports.support import (
    API,
    assign,
    at,
    demo_programs,
    make_event,
    make_goal,
    make_student,
)
from tests.web.test_staff_pages import (
    CASE_MANAGER,
    COORDINATOR,
    COUNSELOR,
    assert_refused,
    caseload,
    post,
    program_of,
    root_goals,
    sign_in,
    user_id,
    with_staff_pages,
)

EDITED = "Maya read with more confidence this quarter.\nWe will keep practising at home."
WITHHELD = "An earlier version is withheld because it quoted a note since marked sensitive."
MARKER = "Spoke about the HERON-2207 matter at home"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI, staff: demo.DemoStaff) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(app: FastAPI, staff: demo.DemoStaff) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bearer(client: TestClient, settings: Settings, name: str) -> dict[str, str]:
    response = client.post(
        f"{API}/auth/login",
        json={"email": demo_email(name), "password": settings.demo_password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def report(database: Database, id_report: int) -> ProgressReport:
    with database.session_scope() as session:
        found = session.get(ProgressReport, id_report)
        assert found is not None
        session.expunge(found)
        return found


def revisions_of(database: Database, id_report: int) -> list[ProgressReportRevision]:
    with database.session_scope() as session:
        found = list(
            session.scalars(
                select(ProgressReportRevision)
                .where(ProgressReportRevision.id_progress_report == id_report)
                .order_by(ProgressReportRevision.id_progress_report_revision)
            )
        )
        session.expunge_all()
        return found


def draft_goal(pages: TestClient, id_goal: int) -> str:
    """The goal's Q2 2026 report drafted from its page; answers the report's path."""
    drafted = post(pages, f"/goals/{id_goal}/progress-reports", {"period": "Q2", "year": "2026"})
    assert drafted.status_code == 303, drafted.text
    location: str = drafted.headers["location"]
    assert re.fullmatch(r"/progress-reports/\d+", location)
    return location


def flash(pages: TestClient, response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    text: str = pages.get(location).text
    return text


def test_finalise_with_an_unsaved_edit_keeps_the_edit(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    first, second = root_goals(database, id_student)[:2]
    sign_in(pages, settings, CASE_MANAGER)
    location = draft_goal(pages, first)
    id_report = int(location.rsplit("/", 1)[1])
    drafted = report(database, id_report).summary
    page = pages.get(location).text
    # One form, two buttons: Finalise sends the text as it stands.
    form = page[page.index(f'action="{location}"') : page.index("</form>", page.index("summary"))]
    assert f'formaction="{location}/finalize"' in form and 'id="save-summary"' in form

    refused = post(pages, f"{location}/finalize", {"summary": "  \r\n "})
    assert_refused(refused, 422)
    assert "Write the summary." in refused.text
    assert report(database, id_report).finalized_at is None

    finalised = post(pages, f"{location}/finalize", {"summary": EDITED.replace("\n", "\r\n")})
    assert finalised.status_code == 303
    kept = report(database, id_report)
    assert kept.finalized_at is not None and kept.summary == EDITED
    assert "The summary has been saved. The report is final." in flash(pages, finalised)
    (revision,) = revisions_of(database, id_report)
    assert revision.summary == drafted and revision.drafted and revision.reason == "edited"
    assert revision.id_user_replaced == user_id(staff, CASE_MANAGER)

    # Another client's finalise form, with no summary at all, finalises the text as it is.
    other = draft_goal(pages, second)
    text = report(database, int(other.rsplit("/", 1)[1])).summary
    assert post(pages, f"{other}/finalize", {}).status_code == 303
    plain = report(database, int(other.rsplit("/", 1)[1]))
    assert plain.finalized_at is not None and plain.summary == text


def test_a_bulk_draft_skips_edited_reports_and_says_so(
    pages: TestClient,
    api: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_program = program_of(database, id_student)
    board = f"/programs/{id_program}/report-status"
    sign_in(pages, settings, COORDINATOR)
    assert post(pages, board, {"period": "Q2", "year": "2026"}).status_code == 303
    with database.session_scope() as session:
        drafts = list(
            session.scalars(
                select(ProgressReport.id_progress_report)
                .where(
                    ProgressReport.id_student == id_student,
                    ProgressReport.period == "Q2",
                    ProgressReport.year == 2026,
                )
                .order_by(ProgressReport.id_progress_report)
            )
        )
    assert len(drafts) >= 2
    sign_in(pages, settings, CASE_MANAGER)
    for index, id_report in enumerate(drafts[:2]):
        saved = post(pages, f"/progress-reports/{id_report}", {"summary": f"{EDITED} {index}"})
        assert saved.status_code == 303

    sign_in(pages, settings, COORDINATOR)
    again = post(pages, board, {"period": "Q2", "year": "2026"})
    assert again.status_code == 303
    assert (
        "2 drafts that staff edited were left as they were; open a report to draft it again."
        in flash(pages, again)
    )
    for index, id_report in enumerate(drafts[:2]):
        assert report(database, id_report).summary == f"{EDITED} {index}"

    headers = bearer(api, settings, COORDINATOR)
    body = {"period": "Q2", "year": 2026, "id_program": id_program}
    answered = api.post(f"{API}/progress-reports/generate", json=body, headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["skipped_edited"] == 2
    assert not set(drafts[:2]) & set(answered.json()["ids"])
    schema = api.get(f"{API}/openapi.json").json()["components"]["schemas"]
    assert "skipped_edited" in schema["GenerationResult"]["properties"]

    # Asked explicitly, the API replaces them, and keeps what it replaced.
    forced = api.post(
        f"{API}/progress-reports/generate",
        json={**body, "replace_edited": True},
        headers=headers,
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["skipped_edited"] == 0
    for index, id_report in enumerate(drafts[:2]):
        assert report(database, id_report).summary != f"{EDITED} {index}"
        newest = revisions_of(database, id_report)[-1]
        assert newest.summary == f"{EDITED} {index}" and not newest.drafted
        assert newest.id_user_written == user_id(staff, CASE_MANAGER)
        assert newest.reason == "drafted_again"
        assert newest.id_user_replaced == user_id(staff, COORDINATOR)


def test_draft_again_on_an_edited_report_asks_then_replaces_and_keeps_a_revision(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    location = draft_goal(pages, id_goal)
    id_report = int(location.rsplit("/", 1)[1])
    drafted = report(database, id_report).summary
    assert drafted

    # A draft nobody edited is drafted again at once.
    at_once = post(pages, f"{location}/regenerate", {})
    assert at_once.status_code == 303
    assert revisions_of(database, id_report) == []  # the same text: nothing replaced

    assert post(pages, location, {"summary": EDITED}).status_code == 303
    asked = post(pages, f"{location}/regenerate", {})
    assert asked.status_code == 200
    assert "Replace the edited summary?" in asked.text
    assert f"edited by {CASE_MANAGER}" in asked.text
    assert "Replace my edited text" in asked.text and 'name="replace_edited"' in asked.text
    assert report(database, id_report).summary == EDITED  # asking changed nothing
    assert post(pages, f"{location}/regenerate", {"replace_edited": "maybe"}).status_code == 422

    replaced = post(pages, f"{location}/regenerate", {"replace_edited": "yes"})
    assert replaced.status_code == 303
    page = flash(pages, replaced)
    assert "The edited text is kept under Earlier versions." in page
    assert report(database, id_report).summary == drafted
    first, second = revisions_of(database, id_report)
    assert (first.summary, first.drafted, first.reason) == (drafted, True, "edited")
    assert (second.summary, second.drafted, second.reason) == (EDITED, False, "drafted_again")
    assert second.id_user_written == user_id(staff, CASE_MANAGER)

    # Listed on the page, newest first: who wrote it, when it was replaced and why.
    listing = page[page.index('id="revisions-heading"') :]
    assert listing.index("Maya read with more confidence") < listing.index(
        drafted.splitlines()[0][:40]
    )
    assert f"Written by {CASE_MANAGER}" in listing
    assert "when the report was drafted again" in listing
    assert "Drafted from logged progress" in listing
    assert "when a new summary was saved" in listing
    assert listing.count("<details>") == 2
    # The drafting's text again: no question the next time.
    assert post(pages, f"{location}/regenerate", {}).status_code == 303


@dataclass(frozen=True)
class Quoted:
    id_student: int
    reading: int
    id_event: int


@pytest.fixture
def quoted(database: Database, staff: demo.DemoStaff) -> Quoted:
    """A student of the counselor and the case manager; a note on the reading goal that
    the counselor will mark sensitive after it was quoted in a draft."""
    id_student = make_student(database, demo_programs(database)[0], "RUSD-626001")
    for name in (COUNSELOR, CASE_MANAGER):
        assign(database, user_id(staff, name), id_student)
    reading = make_goal(database, id_student, "Reading fluency")
    counselor = user_id(staff, COUNSELOR)
    make_event(database, id_student, reading, "Read 80 words a minute.", at(2025, 9, 3))
    id_event = make_event(
        database, id_student, reading, MARKER, at(2025, 9, 10), id_user_created=counselor
    )
    return Quoted(id_student, reading, id_event)


def test_a_withheld_revision_is_not_shown_to_a_case_manager(
    pages: TestClient,
    api: TestClient,
    database: Database,
    settings: Settings,
    quoted: Quoted,
) -> None:
    counselor = bearer(api, settings, COUNSELOR)
    body = {"period": "Q1", "year": 2025, "id_goal": quoted.reading}
    generated = api.post(f"{API}/progress-reports/generate", json=body, headers=counselor)
    assert generated.status_code == 200, generated.text
    (id_report,) = generated.json()["ids"]
    assert MARKER in (report(database, id_report).summary or "")
    sign_in(pages, settings, CASE_MANAGER)
    quote = f"Our notes: {MARKER}."
    assert post(pages, f"/progress-reports/{id_report}", {"summary": quote}).status_code == 303

    marked = api.patch(
        f"{API}/progress-events/{quoted.id_event}", json={"is_sensitive": True}, headers=counselor
    )
    assert marked.status_code == 200, marked.text
    assert MARKER not in (report(database, id_report).summary or "")
    kept = revisions_of(database, id_report)
    assert [revision.summary for revision in kept][-1] == quote
    assert all(revision.withheld_reason == "event_marked_sensitive" for revision in kept)
    assert kept[-1].reason == "event_marked_sensitive"

    page = pages.get(f"/progress-reports/{id_report}").text
    assert MARKER not in page
    assert page.count(WITHHELD) == len(kept) == 2
    assert "<details>" not in page[page.index('id="revisions-heading"') :]

    sign_in(pages, settings, COUNSELOR)
    page = pages.get(f"/progress-reports/{id_report}").text
    assert WITHHELD not in page
    assert page.count(MARKER) == 2
    assert "it may quote a note since marked sensitive" in page


def test_the_report_page_costs_the_same_statements_for_any_number_of_revisions(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    location = draft_goal(pages, id_goal)
    id_report = int(location.rsplit("/", 1)[1])
    people = [user_id(staff, name) for name in (CASE_MANAGER, COORDINATOR, COUNSELOR)]

    def add(count: int) -> None:
        now = utcnow()
        with database.session_scope() as session:
            session.execute(
                insert(ProgressReportRevision),
                [
                    {
                        "id_progress_report": id_report,
                        "summary": f"Version {index}",
                        "drafted": index % 2 == 0,
                        "id_user_written": None if index % 2 == 0 else people[index % 3],
                        "written_at": now,
                        "reason": revisions.EDITED,
                        "id_user_replaced": people[(index + 1) % 3],
                        "replaced_at": now,
                        "withheld_reason": "event_marked_sensitive" if index % 3 == 0 else None,
                        "withheld_at": now if index % 3 == 0 else None,
                    }
                    for index in range(count)
                ],
            )

    counts = {}
    for total, added in ((1, 1), (12, 11)):
        add(added)
        pages.get(location)
        with count_statements(database.engine) as log:
            response = pages.get(location)
        assert response.status_code == 200
        listed = response.text[response.text.index('id="revisions-heading"') :]
        assert listed.count('class="event"') == total
        counts[total] = log.count
    assert counts[1] == counts[12]
