"""The staff's daily pages without a browser, on the demo district: who sees which page
and which section, that nothing hidden from a user by the API reaches them through a
page, fixed statement counts, and that bad input of any kind gives the form back with
a 4xx and changes nothing (SPEC sections 5, 8, 9 and 10)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import Match
from starlette.types import Scope

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import (
    AuditEvent,
    Goal,
    HealthNote,
    Program,
    ProgressEvent,
    ProgressReport,
    SchoolDistrict,
    Student,
    UserStudent,
)
from goalpath.models.base import utcnow
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.web.conftest import with_pages

TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
HUGE = "x" * 100_001
NUL = "a\x00b"
PROBLEM = "There is a problem"
NOT_FOUND = "This page does not exist, or you do not have access to it."

CASE_MANAGER = "Elena Castillo"
OTHER_CASE_MANAGER = "Aisha Mbeki"  # program 1
COUNSELOR = "Grace Okafor"
COORDINATOR = "Priya Raman"  # program 0
NURSE = "Hannah Brooks"
AUDITOR = "Victor Almeida"


def serves(app: FastAPI, path: str, method: str = "GET") -> bool:
    """Whether a request reaches one of the app's routes, included routers' too (they
    are not listed one by one in app.routes)."""
    probe: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    return any(route.matches(probe)[0] is Match.FULL for route in app.router.routes)


def with_staff_pages(app: FastAPI) -> FastAPI:
    """The app with its pages (create_app includes every page router)."""
    return with_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI, staff: demo.DemoStaff) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


def sign_in(client: TestClient, settings: Settings, name: str) -> None:
    client.cookies.clear()
    token = TOKEN_FIELD.search(client.get("/sign-in").text)
    assert token
    response = client.post(
        "/sign-in",
        data={
            "email": demo_email(name),
            "password": settings.demo_password,
            "csrftoken": token.group(1),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form_token(client: TestClient) -> str:
    match = TOKEN_FIELD.search(client.get("/students").text)
    assert match
    return match.group(1)


def post(
    client: TestClient, path: str, data: dict[str, str], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return client.post(
        path,
        data={**data, "csrftoken": form_token(client)},
        headers=headers,
        follow_redirects=False,
    )


# -- the demo district, looked up ------------------------------------------------------


def user_id(staff: demo.DemoStaff, name: str) -> int:
    return staff.by_email[demo_email(name)]


def caseload(database: Database, id_user: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(UserStudent.id_student)
                .where(UserStudent.id_user == id_user)
                .order_by(UserStudent.id_student)
            )
        )


def shared_student(database: Database, staff: demo.DemoStaff, *names: str) -> int:
    common = set(caseload(database, user_id(staff, names[0])))
    for name in names[1:]:
        common &= set(caseload(database, user_id(staff, name)))
    return min(common)


def root_goals(database: Database, id_student: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(Goal.id_goal)
                .where(Goal.id_student == id_student, Goal.id_goal_parent.is_(None))
                .order_by(Goal.id_goal)
            )
        )


def sub_goals(database: Database, id_goal: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(Goal.id_goal).where(Goal.id_goal_parent == id_goal).order_by(Goal.id_goal)
            )
        )


def report_of(database: Database, id_student: int) -> int:
    """The student's first report still open for editing (a draft)."""
    with database.session_scope() as session:
        found = session.scalar(
            select(func.min(ProgressReport.id_progress_report)).where(
                ProgressReport.id_student == id_student, ProgressReport.finalized_at.is_(None)
            )
        )
        assert found is not None
        return int(found)


def program_of(database: Database, id_student: int) -> int:
    with database.session_scope() as session:
        found = session.scalar(select(Student.id_program).where(Student.id_student == id_student))
        assert found is not None
        return int(found)


def snapshot(database: Database) -> dict[str, Any]:
    """Every record a staff page can change (the audit trail aside)."""
    with database.session_scope() as session:
        return {
            "goals": session.execute(
                select(
                    Goal.id_goal, Goal.title, Goal.category, Goal.description, Goal.id_goal_parent
                ).order_by(Goal.id_goal)
            ).all(),
            "events": session.scalar(select(func.count()).select_from(ProgressEvent)),
            "notes": session.scalar(select(func.count()).select_from(HealthNote)),
            "reports": session.execute(
                select(
                    ProgressReport.id_progress_report,
                    ProgressReport.summary,
                    ProgressReport.generated_at,
                    ProgressReport.finalized_at,
                ).order_by(ProgressReport.id_progress_report)
            ).all(),
        }


@dataclass(frozen=True)
class OtherDistrict:
    id_program: int
    id_student: int
    id_goal: int
    id_progress_report: int


def other_district(database: Database) -> OtherDistrict:
    """A second district with one student and their records, for IDOR checks."""
    now = utcnow()
    with database.session_scope() as session:
        district = SchoolDistrict(
            name="Northfield Schools", contact_email="office@northfield.example"
        )
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Northfield Support")
        session.add(program)
        session.flush()
        student = Student(id_program=program.id_program, identifier="NF-0001", created_at=now)
        session.add(student)
        session.flush()
        goal = Goal(
            id_student=student.id_student, title="Northfield goal", created_at=now, updated_at=now
        )
        session.add(goal)
        session.flush()
        report = ProgressReport(
            id_student=student.id_student,
            id_goal=goal.id_goal,
            period="Q1",
            year=2025,
            summary="Northfield summary",
        )
        session.add(report)
        session.flush()
        return OtherDistrict(
            program.id_program, student.id_student, goal.id_goal, report.id_progress_report
        )


def assert_refused(response: httpx2.Response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:400])
    if status is not None:
        assert response.status_code == status, response.text[:400]
    assert response.headers["content-type"].startswith("text/html")
    assert PROBLEM in response.text
    assert 'id="error-summary"' in response.text


# -- pages and who sees them -----------------------------------------------------------


def test_every_page_answers_its_users(
    app: FastAPI,
    pages: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    id_report = report_of(database, id_student)
    id_program = program_of(database, id_student)

    sign_in(pages, settings, CASE_MANAGER)
    listing = pages.get("/students")
    assert listing.status_code == 200
    assert "<h1>My students</h1>" in listing.text
    student = pages.get(f"/students/{id_student}")
    assert student.status_code == 200
    for heading in ("Profile", "Goals", "Progress", "Progress reports"):
        assert f">{heading}</h2>" in student.text
    assert "Why can I see this student?" in student.text
    assert "you are assigned to this student" in student.text
    family = f"/students/{id_student}/family-report.pdf"
    if serves(app, family):
        assert f'action="{family}"' in student.text
    else:
        assert family not in student.text
    goal = pages.get(f"/goals/{id_goal}")
    assert goal.status_code == 200
    assert 'role="img"' in goal.text
    report = pages.get(f"/progress-reports/{id_report}")
    assert report.status_code == 200
    assert "Save summary" in report.text

    sign_in(pages, settings, COORDINATOR)
    board = pages.get(f"/programs/{id_program}/report-status?period=Q1&year=2025")
    assert board.status_code == 200
    assert "Report status: Special Education - Elementary" in board.text
    assert "Draft reports for the program" in board.text
    index = pages.get("/reports")
    assert index.status_code == 200
    assert f"/programs/{id_program}/report-status?" in index.text


def test_sections_follow_the_viewers_rights(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    sign_in(pages, settings, NURSE)
    nurse = pages.get(f"/students/{id_student}")
    assert nurse.status_code == 200
    assert 'id="health"' in nurse.text
    for absent in ('id="goals"', 'id="progress"', 'id="reports"', "Log progress"):
        assert absent not in nurse.text
    listing = pages.get("/students")
    assert '<th scope="col">Goals</th>' not in listing.text
    assert pages.get("/reports").status_code == 403

    sign_in(pages, settings, AUDITOR)
    auditor = pages.get(f"/students/{id_student}")
    assert auditor.status_code == 200
    # Why the auditor sees the student, in words: the role's name, never a permission code.
    assert "Your role (Privacy officer / auditor) reads students of your districts" in (
        auditor.text
    )
    assert "student:read" not in auditor.text
    for absent in ('id="goals"', 'id="progress"', 'id="health"', 'id="reports"'):
        assert absent not in auditor.text


def test_pages_list_exactly_what_the_api_lists(
    pages: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    for name in (CASE_MANAGER, COUNSELOR, COORDINATOR, NURSE):
        pages.cookies.clear()
        token = pages.post(
            "/api/v1/auth/login",
            json={"email": demo_email(name), "password": settings.demo_password},
        ).json()["token"]
        api = pages.get(
            "/api/v1/students?limit=200", headers={"Authorization": f"Bearer {token}"}
        ).json()
        expected = sorted(item["identifier"] for item in api["items"])
        sign_in(pages, settings, name)
        page = pages.get("/students?limit=200").text
        shown = sorted(re.findall(r'<a href="/students/\d+">([^<]+)</a>', page))
        assert shown == expected, name
        assert shown


def test_students_search_by_identifier_prefix(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, COORDINATOR)
    everyone = re.findall(r'<a href="/students/\d+">([^<]+)</a>', pages.get("/students").text)
    prefix = everyone[3][:8]
    found = pages.get("/students", params={"q": prefix}).text
    shown = re.findall(r'<a href="/students/\d+">([^<]+)</a>', found)
    assert shown == [identifier for identifier in everyone if identifier.startswith(prefix)]
    assert 0 < len(shown) < len(everyone)
    nothing = pages.get("/students", params={"q": "NO-SUCH-"})
    assert nothing.status_code == 200
    assert "No student you can see has an identifier starting with" in nothing.text
    # htmx gets the results and the live region's new text, not a whole page.
    fragment = pages.get("/students", params={"q": prefix}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'id="student-results"' in fragment.text
    assert 'id="students-status" hx-swap-oob="innerHTML"' in fragment.text
    restore = pages.get(
        "/students",
        params={"q": prefix},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text
    for bad in ("x" * 51, NUL, "\x1b[31m"):
        assert_refused(pages.get("/students", params={"q": bad}), 422)
    for bad_query in ({"limit": "0"}, {"limit": "abc"}, {"cursor": "not-a-cursor"}):
        response = pages.get("/students", params=bad_query)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")


def test_students_list_costs_the_same_statements_for_any_page_size(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, COORDINATOR)
    pages.get("/students?limit=1")
    counts = {}
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = pages.get(f"/students?limit={limit}")
        assert response.status_code == 200
        rows = len(re.findall(r'<th scope="row">', response.text))
        counts[limit] = (log.count, rows)
    assert counts[1][1] == 1
    assert counts[50][1] == 16
    assert counts[1][0] == counts[50][0]


def test_a_further_page_of_students(
    pages: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, COORDINATOR)
    first = pages.get("/students?limit=5").text
    link = re.search(r'<a href="(/students\?[^"]+)" rel="next">', first)
    assert link
    second = pages.get(link.group(1).replace("&amp;", "&")).text
    first_ids = re.findall(r'<a href="/students/(\d+)">', first)
    second_ids = re.findall(r'<a href="/students/(\d+)">', second)
    assert len(second_ids) == 5
    assert not set(first_ids) & set(second_ids)
    assert "First page" in second


# -- out of scope is not found -------------------------------------------------------


def test_records_out_of_scope_are_not_found(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    foreign = other_district(database)
    elsewhere = caseload(database, user_id(staff, OTHER_CASE_MANAGER))[0]
    elsewhere_goal = root_goals(database, elsewhere)[0]
    elsewhere_report = report_of(database, elsewhere)
    elsewhere_program = program_of(database, elsewhere)
    sign_in(pages, settings, CASE_MANAGER)
    paths = [
        f"/students/{elsewhere}",
        f"/goals/{elsewhere_goal}",
        f"/progress-reports/{elsewhere_report}",
        f"/programs/{elsewhere_program}/report-status",
        f"/students/{foreign.id_student}",
        f"/goals/{foreign.id_goal}",
        f"/progress-reports/{foreign.id_progress_report}",
        f"/programs/{foreign.id_program}/report-status",
        "/students/999999999",
        "/students/abc",
        "/students/99999999999",
        "/students/0",
        "/students/\u0663",
        "/goals/-1",
        "/progress-reports/1e3",
    ]
    for path in paths:
        response = pages.get(path)
        assert response.status_code == 404, path
        assert NOT_FOUND in response.text, path
        assert "NF-0001" not in response.text
    # A coordinator of the demo district does not reach the other district either.
    sign_in(pages, settings, COORDINATOR)
    for path in paths[4:8]:
        assert pages.get(path).status_code == 404, path


def test_forms_aimed_out_of_scope_change_nothing(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    foreign = other_district(database)
    elsewhere = caseload(database, user_id(staff, OTHER_CASE_MANAGER))[0]
    elsewhere_goal = root_goals(database, elsewhere)[0]
    elsewhere_report = report_of(database, elsewhere)
    sign_in(pages, settings, CASE_MANAGER)
    before = snapshot(database)
    attempts = [
        (f"/students/{elsewhere}/goals", {"title": "Sneaky"}),
        (f"/students/{foreign.id_student}/goals", {"title": "Sneaky"}),
        (f"/goals/{elsewhere_goal}/edit", {"title": "Sneaky"}),
        (f"/goals/{foreign.id_goal}/move", {"id_goal_parent": "top"}),
        (f"/students/{elsewhere}/progress-events", {"content": "Sneaky"}),
        (f"/students/{elsewhere}/progress-reports", {"period": "Q2", "year": "2026"}),
        (f"/goals/{elsewhere_goal}/progress-reports", {"period": "Q2", "year": "2026"}),
        (f"/progress-reports/{elsewhere_report}", {"summary": "Sneaky"}),
        (f"/progress-reports/{foreign.id_progress_report}/finalize", {}),
        (f"/progress-reports/{elsewhere_report}/regenerate", {}),
        (f"/programs/{foreign.id_program}/report-status", {"period": "Q2", "year": "2026"}),
    ]
    for path, data in attempts:
        response = post(pages, path, data)
        assert response.status_code == 404, (path, response.text[:300])
        assert NOT_FOUND in response.text
    assert snapshot(database) == before


# -- restricted sections and sensitive events ----------------------------------------


def test_health_notes_only_for_those_who_may_read_them(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    text = "Counselor check-in agreed with the family (unique 7c1f)."
    sign_in(pages, settings, COUNSELOR)
    added = post(pages, f"/students/{id_student}/health-notes", {"content": text})
    assert added.status_code == 303
    assert added.headers["location"] == f"/students/{id_student}#health"
    counselor = pages.get(f"/students/{id_student}")
    assert "Health note added." in counselor.text
    assert 'id="health"' in counselor.text
    assert text in counselor.text

    sign_in(pages, settings, CASE_MANAGER)
    case_manager = pages.get(f"/students/{id_student}")
    assert case_manager.status_code == 200
    for absent in ('id="health"', "Health and welfare notes", text, "health-notes"):
        assert absent not in case_manager.text
    before = snapshot(database)
    refused = post(pages, f"/students/{id_student}/health-notes", {"content": "Not mine"})
    assert refused.status_code == 403
    assert snapshot(database) == before


def test_a_sensitive_event_never_reaches_a_case_manager(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    id_goal = root_goals(database, id_student)[0]
    secret = "Disclosed worry about home; safety plan reviewed (unique 93ab)."
    sign_in(pages, settings, COUNSELOR)
    counselor_page = pages.get(f"/students/{id_student}").text
    assert 'id="log-sensitive"' in counselor_page
    logged = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": secret, "id_goal": str(id_goal), "is_sensitive": "on"},
    )
    assert logged.status_code == 303
    assert secret in pages.get(f"/students/{id_student}").text
    counselor_chart = pages.get(f"/goals/{id_goal}").text
    counselor_total = int(re.search(r"(\d+) progress notes? logged", counselor_chart).group(1))

    sign_in(pages, settings, CASE_MANAGER)
    seen = [
        pages.get("/students").text,
        pages.get(f"/students/{id_student}").text,
        pages.get(f"/goals/{id_goal}").text,
    ]
    assert 'id="log-sensitive"' not in seen[1]
    drafted = post(pages, f"/goals/{id_goal}/progress-reports", {"period": "Q2", "year": "2026"})
    assert drafted.status_code == 303
    seen.append(pages.get(drafted.headers["location"]).text)
    assert "progress note" in seen[-1]
    for text in seen:
        assert secret not in text
        assert "unique 93ab" not in text
    case_manager_total = int(re.search(r"(\d+) progress notes? logged", seen[2]).group(1))
    with database.session_scope() as session:
        subtree = [id_goal, *sub_goals(database, id_goal)]
        sensitive = session.scalar(
            select(func.count())
            .select_from(ProgressEvent)
            .where(
                ProgressEvent.id_goal.in_(subtree),
                ProgressEvent.is_sensitive.is_(True),
                ProgressEvent.created_at >= datetime(2026, 8, 1, tzinfo=UTC),
            )
        )
    assert sensitive
    assert case_manager_total == counselor_total - sensitive
    # Ticking the box without the right is refused, and nothing is logged.
    before = snapshot(database)
    refused = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": "Trying to hide this", "is_sensitive": "on"},
    )
    assert refused.status_code == 403
    assert snapshot(database) == before


# -- forms: what happens, with and without htmx --------------------------------------


def test_goal_forms_without_and_with_htmx(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    added = post(
        pages,
        f"/students/{id_student}/goals",
        {"title": "Use a word bank", "category": "", "id_goal_parent": str(id_goal)},
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/students/{id_student}#goals"
    page = pages.get(f"/students/{id_student}").text
    assert "Sub-goal \u201cUse a word bank\u201d added." in page
    new_goal = max(sub_goals(database, id_goal))

    htmx = {"HX-Request": "true"}
    edited = post(
        pages,
        f"/goals/{new_goal}/edit",
        {"title": "Use a word bank daily", "category": "Writing", "description": ""},
        headers=htmx,
    )
    assert edited.status_code == 200
    assert "<html" not in edited.text
    assert f'id="goal-link-{new_goal}" autofocus' in edited.text
    assert (
        'id="goals-status" hx-swap-oob="innerHTML">Goal \u201cUse a word bank daily\u201d saved.'
        in edited.text
    )
    assert 'id="log-goal" name="id_goal" hx-swap-oob="true"' in edited.text

    moved = post(pages, f"/goals/{new_goal}/move", {"id_goal_parent": "top"}, headers=htmx)
    assert moved.status_code == 200
    with database.session_scope() as session:
        assert session.get(Goal, new_goal).id_goal_parent is None  # type: ignore[union-attr]

    # Under its own sub-goal: refused with the service's reason, in the fragment.
    child = sub_goals(database, id_goal)[0]
    cycle = post(pages, f"/goals/{id_goal}/move", {"id_goal_parent": str(child)}, headers=htmx)
    assert cycle.status_code == 200
    assert "error-summary" in cycle.text and "autofocus" in cycle.text
    assert "cannot be moved under one of its own sub-goals" in cycle.text
    plain = post(pages, f"/goals/{id_goal}/move", {"id_goal_parent": str(child)})
    assert plain.status_code == 409
    assert "cannot be moved under one of its own sub-goals" in plain.text


def test_a_goal_changed_meanwhile_is_not_overwritten(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    page = pages.get(f"/students/{id_student}").text
    etag = re.search(rf'action="/goals/{id_goal}/edit".*?name="etag" value="([^"]+)"', page, re.S)
    assert etag
    stale = etag.group(1).replace("&#34;", '"')
    first = post(pages, f"/goals/{id_goal}/edit", {"title": "First change", "etag": stale})
    assert first.status_code == 303
    second = post(pages, f"/goals/{id_goal}/edit", {"title": "Second change", "etag": stale})
    assert_refused(second, 412)
    assert "changed since you read it" in second.text
    with database.session_scope() as session:
        assert session.get(Goal, id_goal).title == "First change"  # type: ignore[union-attr]


def test_log_progress_with_htmx_answers_the_timeline(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    sign_in(pages, settings, CASE_MANAGER)
    response = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": "Read 42 words per minute.\r\nFewer prompts.", "id_goal": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="progress-status" hx-swap-oob="innerHTML">Progress logged.' in response.text
    assert "Read 42 words per minute.\nFewer prompts." in response.text
    assert 'id="log-submit"' in response.text
    refused = post(
        pages,
        f"/students/{id_student}/progress-events",
        {"content": ""},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 200
    assert "Describe the progress to log." in refused.text
    assert 'aria-invalid="true"' in refused.text


def test_reports_draft_edit_finalise_and_reopen(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    drafted = post(pages, f"/goals/{id_goal}/progress-reports", {"period": "Q2", "year": "2026"})
    assert drafted.status_code == 303
    location = drafted.headers["location"]
    id_report = int(location.rsplit("/", 1)[1])
    saved = post(pages, location, {"summary": "Steady progress.\r\nKeep going."})
    assert saved.status_code == 303
    with database.session_scope() as session:
        assert session.get(ProgressReport, id_report).summary == "Steady progress.\nKeep going."  # type: ignore[union-attr]
    finalised = post(pages, f"{location}/finalize", {})
    assert finalised.status_code == 303
    page = pages.get(location).text
    assert "This report is final and read-only." in page
    assert "Save summary" not in page and "Finalise report" not in page
    assert "Reopen report" not in page  # reopening is a coordinator's
    refused = post(pages, location, {"summary": "Changed after the sign-off"})
    assert_refused(refused, 409)
    assert "is read-only; it must be reopened before it can be edited" in refused.text
    assert post(pages, f"{location}/reopen", {}).status_code == 403
    assert post(pages, f"{location}/finalize", {}).status_code == 409

    sign_in(pages, settings, COORDINATOR)
    assert "Reopen report" in pages.get(location).text
    reopened = post(pages, f"{location}/reopen", {})
    assert reopened.status_code == 303
    assert "Save summary" in pages.get(location).text
    # The text was edited: drafting again asks first (tests/web/test_report_revisions.py).
    asked = post(pages, f"{location}/regenerate", {})
    assert asked.status_code == 200 and "Replace my edited text" in asked.text
    redrafted = post(pages, f"{location}/regenerate", {"replace_edited": "yes"})
    assert redrafted.status_code == 303
    with database.session_scope() as session:
        report = session.get(ProgressReport, id_report)
        assert report is not None and report.finalized_at is None
        assert report.summary != "Steady progress.\nKeep going."


def test_the_board_counts_and_drafts_for_the_program(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_program = program_of(database, caseload(database, user_id(staff, CASE_MANAGER))[0])
    sign_in(pages, settings, COORDINATOR)
    before = pages.get(f"/programs/{id_program}/report-status?period=Q2&year=2026").text
    missing = int(re.search(r"<strong>(\d+)</strong> reports not drafted", before).group(1))
    assert missing > 0
    drafted = post(pages, f"/programs/{id_program}/report-status", {"period": "Q2", "year": "2026"})
    assert drafted.status_code == 303
    assert drafted.headers["location"] == (
        f"/programs/{id_program}/report-status?period=Q2&year=2026"
    )
    after = pages.get(drafted.headers["location"]).text
    assert f"{missing} reports drafted." in after
    assert "<strong>0</strong> reports not drafted" in after
    assert f"<strong>{missing}</strong> drafts to finish" in after
    csv_link = re.search(r'href="(/api/v1/programs/\d+/progress-reports\.csv\?[^"]+)"', after)
    assert csv_link
    exported = pages.get(csv_link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.count("\r\n") == missing + 1


def test_the_goal_chart_has_a_text_alternative(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(pages, settings, CASE_MANAGER)
    page = pages.get(f"/goals/{id_goal}?year=2025").text
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg
    assert 'role="img"' in svg.group(0)
    assert 'aria-labelledby="progress-chart-title progress-chart-desc"' in svg.group(0)
    assert '<title id="progress-chart-title">Progress notes per week' in svg.group(0)
    assert "<script" not in svg.group(0) and "style=" not in svg.group(0)
    total = int(re.search(r"(\d+) progress notes logged", page).group(1))
    assert total > 0
    weeks = [int(count) for count in re.findall(r"</time></td><td>(\d+)</td>", page)]
    assert sum(weeks) == total
    assert len(re.findall(r'class="chart-bar"', svg.group(0))) == sum(1 for w in weeks if w)
    assert pages.get(f"/goals/{id_goal}?year=abc").status_code == 422


def test_forms_need_their_csrf_token(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    sign_in(pages, settings, CASE_MANAGER)
    before = snapshot(database)
    forged = pages.post(
        f"/students/{id_student}/goals", data={"title": "Forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert snapshot(database) == before


def test_signed_out_visitors_go_to_sign_in(pages: TestClient) -> None:
    response = pages.get("/students/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/students/1"


# -- bad input of every kind: the form again, a 4xx, and nothing changed --------------


WRONG_IDS = ["abc", "-1", "0", "1.5", "99999999999", "\u0663", NUL, HUGE]


def refuse_all(
    client: TestClient,
    database: Database,
    path: str,
    valid: dict[str, str],
    bad: dict[str, list[str]],
    *,
    htmx: bool = False,
) -> None:
    before = snapshot(database)
    for name, values in bad.items():
        for value in values:
            response = post(
                client, path, {**valid, name: value}, {"HX-Request": "true"} if htmx else None
            )
            if htmx:
                assert response.status_code == 200
                assert PROBLEM in response.text, (path, name, value[:20])
            else:
                assert_refused(response)
            assert snapshot(database) == before, (path, name, value[:20])


def test_goal_forms_refuse_bad_input(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    child = sub_goals(database, id_goal)[0]
    elsewhere_goal = root_goals(
        database, caseload(database, user_id(staff, OTHER_CASE_MANAGER))[0]
    )[0]
    sign_in(pages, settings, CASE_MANAGER)
    text_bad = ["", "   ", HUGE, NUL]
    refuse_all(
        pages,
        database,
        f"/students/{id_student}/goals",
        {"title": "A goal", "category": "", "description": "", "id_goal_parent": ""},
        {
            "title": text_bad,
            "category": ["x" * 101, NUL],
            "description": ["x" * 10_001, NUL],
            "id_goal_parent": [*WRONG_IDS, str(elsewhere_goal)],
        },
    )
    refuse_all(
        pages,
        database,
        f"/goals/{id_goal}/edit",
        {"title": "Edited", "category": "", "description": ""},
        {"title": text_bad, "category": [HUGE, NUL], "description": [HUGE, NUL]},
    )
    refuse_all(
        pages,
        database,
        f"/goals/{id_goal}/move",
        {"id_goal_parent": "top"},
        {"id_goal_parent": ["", *WRONG_IDS, str(id_goal), str(child), str(elsewhere_goal)]},
    )
    refuse_all(
        pages,
        database,
        f"/students/{id_student}/goals",
        {"title": "A goal", "id_goal_parent": str(id_goal)},
        {"title": ["", HUGE, NUL], "id_goal_parent": ["abc", str(elsewhere_goal)]},
        htmx=True,
    )


def test_progress_and_note_forms_refuse_bad_input(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    elsewhere_goal = root_goals(
        database, caseload(database, user_id(staff, OTHER_CASE_MANAGER))[0]
    )[0]
    sign_in(pages, settings, COUNSELOR)
    refuse_all(
        pages,
        database,
        f"/students/{id_student}/progress-events",
        {"content": "Worked on reading.", "id_goal": "", "is_sensitive": ""},
        {
            "content": ["", "  \n ", "x" * 10_001, HUGE, NUL, "bell \x07 rings"],
            "id_goal": [*WRONG_IDS, str(elsewhere_goal)],
            "is_sensitive": ["maybe", "2", HUGE, NUL],
        },
    )
    refuse_all(
        pages,
        database,
        f"/students/{id_student}/health-notes",
        {"content": "A note."},
        {"content": ["", " ", "x" * 20_001, HUGE, NUL, "\x1b[0m"]},
    )


def test_report_forms_refuse_bad_input(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    child = sub_goals(database, id_goal)[0]
    id_report = report_of(database, id_student)
    id_program = program_of(database, id_student)
    periods = {
        "period": ["", "Q9", "x" * 11, HUGE, NUL, "<b>Q1</b>"],
        "year": ["", "abc", "1800", "99999", "20.5", HUGE, NUL, "\u0662\u0660\u0662\u0666"],
    }
    valid = {"period": "Q2", "year": "2026"}
    sign_in(pages, settings, CASE_MANAGER)
    refuse_all(pages, database, f"/students/{id_student}/progress-reports", valid, periods)
    refuse_all(pages, database, f"/goals/{id_goal}/progress-reports", valid, periods)
    refuse_all(pages, database, f"/goals/{child}/progress-reports", valid, {"period": ["Q2"]})
    refuse_all(
        pages,
        database,
        f"/progress-reports/{id_report}",
        {"summary": "Fine."},
        {"summary": ["", "   ", "x" * 20_001, HUGE, NUL]},
    )
    sign_in(pages, settings, COORDINATOR)
    refuse_all(pages, database, f"/programs/{id_program}/report-status", valid, periods)
    for query in (
        {"period": "Q9"},
        {"period": NUL},
        {"period": "x" * 5000},
        {"year": "abc"},
        {"year": "1"},
        {"year": "9" * 5000},
    ):
        response = pages.get(f"/programs/{id_program}/report-status", params=query)
        assert_refused(response, 422)


def test_a_field_sent_as_a_file_is_refused_not_a_crash(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    sign_in(pages, settings, CASE_MANAGER)
    before = snapshot(database)
    response = pages.post(
        f"/students/{id_student}/goals",
        data={"csrftoken": form_token(pages)},
        files={"title": ("title.txt", b"A goal from a file")},
        follow_redirects=False,
    )
    assert 400 <= response.status_code < 500
    assert snapshot(database) == before


# -- large trees, periods and the chart's numbers ---------------------------------------


def chain_of_goals(database: Database, id_student: int, length: int) -> list[int]:
    """A chain of sub-goals, each under the one before: the deepest tree there is."""
    now = utcnow()
    ids: list[int] = []
    with database.session_scope() as session:
        parent: int | None = None
        for step in range(length):
            goal = Goal(
                id_student=id_student,
                id_goal_parent=parent,
                title=f"Step {step}",
                created_at=now,
                updated_at=now,
            )
            session.add(goal)
            session.flush()
            parent = goal.id_goal
            ids.append(goal.id_goal)
    return ids


def test_a_large_tree_gets_one_move_form(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    chain = chain_of_goals(database, id_student, 300)
    elsewhere_goal = root_goals(
        database, caseload(database, user_id(staff, OTHER_CASE_MANAGER))[0]
    )[0]
    sign_in(pages, settings, CASE_MANAGER)
    page = pages.get(f"/students/{id_student}")
    assert page.status_code == 200
    assert len(page.text) < 2_000_000
    assert f'action="/goals/{chain[0]}/move"' not in page.text
    assert f'action="/students/{id_student}/goals/move"' in page.text
    assert page.text.count('<ul class="goal-tree">') > 300

    path = f"/students/{id_student}/goals/move"
    refuse_all(
        pages,
        database,
        path,
        {"id_goal": str(chain[0]), "id_goal_parent": "top"},
        {
            "id_goal": ["", *WRONG_IDS, str(elsewhere_goal)],
            "id_goal_parent": ["", *WRONG_IDS, str(chain[0]), str(chain[-1])],
        },
    )
    moved = post(pages, path, {"id_goal": str(chain[-1]), "id_goal_parent": "top"})
    assert moved.status_code == 303
    with database.session_scope() as session:
        assert session.get(Goal, chain[-1]).id_goal_parent is None  # type: ignore[union-attr]


def test_the_current_period_follows_the_configured_ranges(settings: Settings) -> None:
    from goalpath.progress_reports.periods import current_period, school_year_label

    assert current_period(settings, date(2026, 11, 25)) == ("Q2", 2026)
    assert current_period(settings, date(2026, 8, 1)) == ("Q1", 2026)
    assert current_period(settings, date(2027, 1, 5)) == ("Q3", 2026)
    # Summer, between school years: the period that ended last.
    assert current_period(settings, date(2027, 7, 20)) == ("Q4", 2026)
    custom = settings.model_copy(update={"report_periods": '{"H1": ["09-01", "01-31"]}'})
    assert current_period(custom, date(2026, 8, 10)) == ("H1", 2025)
    assert school_year_label(2026) == "2026\u201327"
    assert school_year_label(1999) == "1999\u201300"


def test_a_deep_tree_is_built_without_recursion() -> None:
    from goalpath.goals.tree import build_tree

    depth = 5000
    records = [
        Goal(id_goal=number, id_goal_parent=number - 1 if number > 1 else None)
        for number in range(1, depth + 1)
    ]
    tree = build_tree(records)
    assert [token.kind for token in tree.tokens].count("ul") == depth
    assert tree.order[-1][1] == depth - 1
    assert tree.movable_under(1) == []
    assert [goal.id_goal for goal, _ in tree.movable_under(depth)] == list(range(1, depth))
    # A goal whose parent is not readable is shown at the top, not dropped.
    orphan = build_tree([Goal(id_goal=7, id_goal_parent=3), Goal(id_goal=8, id_goal_parent=7)])
    assert [(goal.id_goal, d) for goal, d in orphan.order] == [(7, 0), (8, 1)]


def test_weekly_counts_and_the_chart() -> None:
    from goalpath.progress_reports.periods import school_year_days
    from goalpath.web.charts import weekly_bar_chart, weekly_counts

    first, last = school_year_days(2026)
    assert (first, last) == (date(2026, 8, 1), date(2027, 6, 30))
    stamps = [
        datetime(2026, 7, 31, 23, 0, tzinfo=UTC),  # before the school year
        datetime(2026, 8, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 8, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 9, 14, 8, 0, tzinfo=UTC),
        datetime(2027, 7, 1, 8, 0, tzinfo=UTC),  # after it
    ]
    chart = weekly_counts(stamps, first, last)
    assert chart.total == 3
    assert chart.weeks[0].start == date(2026, 7, 27) and chart.weeks[0].count == 2
    assert chart.busiest == chart.weeks[0]
    assert chart.active_weeks == 2
    assert chart.weeks[-1].start <= last <= chart.weeks[-1].end
    svg = weekly_bar_chart(chart, title="A <title>", description="Notes & weeks", ident="c")
    assert '<title id="c-title">A &lt;title&gt;</title>' in svg
    assert "Notes &amp; weeks" in svg
    assert svg.count('class="chart-bar"') == 2
    labels = re.findall(r'<text class="chart-label"[^>]*>([A-Z][a-z]{2})</text>', svg)
    assert labels == ["Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    empty = weekly_bar_chart(weekly_counts([], first, last), title="t", description="d", ident="e")
    assert 'class="chart-bar"' not in empty


def test_opening_a_student_is_on_the_audit_trail(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    counselor = user_id(staff, COUNSELOR)

    def reads(resource: str) -> int:
        with database.session_scope() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        AuditEvent.id_user == counselor,
                        AuditEvent.id_student == id_student,
                        AuditEvent.action == "read",
                        AuditEvent.resource == resource,
                        AuditEvent.outcome == "allowed",
                    )
                )
                or 0
            )

    sign_in(pages, settings, COUNSELOR)
    before = {resource: reads(resource) for resource in ("student", "health_note")}
    assert pages.get(f"/students/{id_student}").status_code == 200
    assert reads("student") == before["student"] + 1
    assert reads("health_note") == before["health_note"] + 1
