"""Four people's jobs in Chromium against the real server, each from the sign-in page:
a privacy officer answers "who accessed this student?" on the audit trail and in its CSV;
a district administrator unlocks an account that wrong passwords locked; a program
coordinator assigns and unassigns a student from the caseload lists; and a coordinator's
bulk draft leaves a case manager's edited summary alone and says so (SPEC sections 4,
6 and 14). axe-core checks every page on the way, at desktop and tablet widths."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import ProgressReport, Student, User, UserProgram, UserStudent
from tests.conftest import Clock
from tests.fixtures import demo
from tests.progress_reports.support import (
    assign,
    demo_district,
    make_event,
    make_goal,
    make_program,
    make_student,
)
from tests.users.helpers import audit_rows, last_audit_id
from tests.web.conftest import check_page
from tests.web.test_admin_pages import DISTRICT_ADMIN, SECOND_CASE_MANAGER
from tests.web.test_staff_journeys import sign_in
from tests.web.test_staff_pages import (
    AUDITOR,
    CASE_MANAGER,
    COORDINATOR,
    COUNSELOR,
    caseload,
    program_of,
    shared_student,
    user_id,
)

REFUSED = "The email or password is incorrect, or the account is locked."
WRONG_PASSWORD = "not-the-password-at-all-0000"
PILOT = "Reading Intervention Pilot"
EDITED = "Elena's own words: reads a short passage aloud each morning, unprompted."


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def menu(page: Page, label: str) -> None:
    """Follow the main menu's link, as a person finds a page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def filtered(page: Page, button: str, address: str) -> Locator:
    """Submit a list's filters; answers the rows of the list that comes back."""
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(address))
    return page.locator("table.data-table tbody tr")


def identifier_of(database: Database, id_student: int) -> str:
    with database.session_scope() as session:
        found = session.scalar(select(Student.identifier).where(Student.id_student == id_student))
    assert found
    return found


def open_student(page: Page, id_student: int, identifier: str, name: str) -> None:
    page.goto(f"/students/{id_student}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Student {identifier}")
    check_page(page, name)


@pytest.fixture
def watched(database: Database, staff: demo.DemoStaff) -> tuple[int, str]:
    """A student both the case manager and the counselor work with: id and identifier."""
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    return id_student, identifier_of(database, id_student)


# -- 1. the privacy officer: who accessed this student? ------------------------------


def test_an_auditor_finds_who_opened_a_students_record_and_downloads_it(
    page: Page,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    watched: tuple[int, str],
) -> None:
    id_student, identifier = watched
    viewers = {name: user_id(staff, name) for name in (CASE_MANAGER, COUNSELOR)}
    for name in viewers:
        sign_in(page, settings, name)
        open_student(page, id_student, identifier, f"persona-student-{name.split()[0].lower()}")
        sign_out(page)

    sign_in(page, settings, AUDITOR)
    check_page(page, "persona-home-auditor")
    menu(page, "Audit trail")
    page.wait_for_url(re.compile(r"/audit-events$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    page.get_by_label("Student", exact=True).fill(identifier)
    rows = filtered(page, "Apply filters", rf"/audit-events\?student={identifier}")
    # Every row listed is about this student (the Student column), none about another.
    expect(rows.first).to_be_visible()
    assert set(rows.locator(":scope > :nth-child(6)").all_inner_texts()) == {identifier}
    for name, id_user in viewers.items():
        opened = (
            rows.filter(has_text=f"{name} #{id_user}")
            .filter(has=page.get_by_role("cell", name="read", exact=True))
            .filter(has=page.get_by_role("cell", name="student", exact=True))
        )
        expect(opened.first).to_be_visible()
    check_page(page, "persona-audit-student")

    before = last_audit_id(database)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these rows as CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit-events-")
    with open(download.path(), encoding="utf-8", newline="") as exported:
        table = list(csv.reader(exported))
    header, body = table[0], [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    # The names stand beside the ids they explain.
    at_user = header.index("id_user")
    assert header[at_user + 1 : at_user + 3] == ["user_name", "user_email"]
    assert header[header.index("id_student") + 1] == "student_identifier"
    assert {row["id_student"] for row in body} == {str(id_student)}
    assert {row["student_identifier"] for row in body} == {identifier}
    for name, id_user in viewers.items():
        reads = [
            row
            for row in body
            if (row["id_user"], row["action"], row["resource"]) == (str(id_user), "read", "student")
        ]
        assert reads, f"no read of the student by {name} in the CSV"
        assert {(row["user_name"], row["user_email"]) for row in reads} == {
            (name, demo_email(name))
        }
    # The download is itself on the trail, under the student.
    exports = audit_rows(database, after=before, action="export", resource="audit_event")
    assert [(row["id_user"], row["id_student"]) for row in exports] == [
        (user_id(staff, AUDITOR), id_student)
    ]


def test_the_audit_trails_student_filter_matches_the_identifier_in_any_case(
    page: Page, settings: Settings, staff: demo.DemoStaff, watched: tuple[int, str]
) -> None:
    id_student, identifier = watched
    sign_in(page, settings, AUDITOR)
    page.goto(f"/students/{id_student}")
    page.goto("/audit-events")
    page.get_by_label("Student", exact=True).fill(identifier.lower())
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No student you can see has this identifier.")).to_have_count(0)
    rows = page.locator("table.audit-table tbody tr")
    expect(rows.filter(has_text=f"{AUDITOR} #{user_id(staff, AUDITOR)}").first).to_contain_text(
        identifier
    )


# -- 2. the district administrator: a locked account ---------------------------------


def lock_by_wrong_passwords(page: Page, settings: Settings, database: Database, name: str) -> int:
    """Wrong passwords on the sign-in page until the account locks (the threshold's
    worth); then its right password is refused too. Answers the account's id."""
    email = demo_email(name)
    for _attempt in range(settings.lockout_threshold):
        page.goto("/sign-in")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password", exact=True).fill(WRONG_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    with database.session_scope() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        assert user.locked_until is not None
        assert user.failed_login_attempts == settings.lockout_threshold
        id_user = user.id_user
    page.get_by_label("Password", exact=True).fill(settings.demo_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(REFUSED)
    assert page.url.endswith("/sign-in")
    return id_user


def test_an_administrator_unlocks_an_account_locked_by_wrong_passwords(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_locked = lock_by_wrong_passwords(page, settings, database, SECOND_CASE_MANAGER)
    check_page(page, "persona-sign-in-refused")
    before = last_audit_id(database)

    sign_in(page, settings, DISTRICT_ADMIN)
    menu(page, "Staff")
    page.wait_for_url(re.compile(r"/admin/users$"))
    check_page(page, "persona-staff")
    page.get_by_label("Status", exact=True).select_option(label="Locked out")
    rows = filtered(page, "Find staff", r"/admin/users\?.*status=locked")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(SECOND_CASE_MANAGER)
    expect(rows).to_contain_text("Locked")
    check_page(page, "persona-staff-locked")

    rows.get_by_role("link", name=SECOND_CASE_MANAGER).click()
    page.wait_for_url(re.compile(rf"/admin/users/{id_locked}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(SECOND_CASE_MANAGER)
    expect(page.locator(".facts")).to_contain_text("Locked until")
    check_page(page, "persona-staff-member-locked")
    page.get_by_role("button", name="Unlock account").click()
    expect(page.get_by_role("status")).to_have_text(f"{SECOND_CASE_MANAGER}'s account is unlocked.")
    expect(page.locator(".badge-active")).to_have_text("Active")
    expect(page.get_by_role("button", name="Unlock account")).to_have_count(0)
    check_page(page, "persona-staff-member-unlocked")

    with database.session_scope() as session:
        unlocked = session.get(User, id_locked)
        assert unlocked is not None
        assert unlocked.locked_until is None and unlocked.failed_login_attempts == 0
    unlocks = audit_rows(database, after=before, action="account.unlocked")
    assert [(row["id_user"], row["resource"], row["record_id"]) for row in unlocks] == [
        (user_id(staff, DISTRICT_ADMIN), "user", str(id_locked))
    ]
    # The trail shows the unlock to the administrator, by whom and of which account.
    menu(page, "Audit trail")
    page.get_by_label("Action", exact=True).select_option(label="Account unlocked")
    listed = filtered(page, "Apply filters", r"action=account\.unlocked")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(DISTRICT_ADMIN)
    expect(listed.locator(":scope > :nth-child(5)")).to_have_text(str(id_locked))
    check_page(page, "persona-audit-unlocked")

    sign_out(page)
    sign_in(page, settings, SECOND_CASE_MANAGER)
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")


def test_the_locked_until_time_is_labelled_with_the_districts_zone_only(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_locked = lock_by_wrong_passwords(page, settings, database, SECOND_CASE_MANAGER)
    sign_in(page, settings, DISTRICT_ADMIN)
    page.goto(f"/admin/users/{id_locked}")
    status = page.locator(".facts dd").nth(2)
    expect(status).to_contain_text("Locked until")
    # "Dec 1, 2026, 10:46 AM EST": local time, labelled once with the local zone.
    assert re.fullmatch(
        r"Locked until \w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M E[SD]T", status.inner_text().strip()
    ), status.inner_text()


# -- 3. the program coordinator: a caseload ------------------------------------------


def test_a_coordinator_assigns_and_unassigns_a_student_from_the_lists(
    page: Page,
    other_page: Page,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
) -> None:
    elena = user_id(staff, CASE_MANAGER)
    # A student of Elena's program whom her colleague, not she, works with.
    id_student = next(
        student
        for student in caseload(database, user_id(staff, SECOND_CASE_MANAGER))
        if student not in caseload(database, elena)
    )
    identifier = identifier_of(database, id_student)
    id_program = program_of(database, id_student)
    sign_in(other_page, settings, CASE_MANAGER)
    expect(other_page.get_by_role("link", name=identifier, exact=True)).to_have_count(0)

    sign_in(page, settings, COORDINATOR)
    check_page(page, "persona-home-coordinator")
    menu(page, "Caseloads")
    page.wait_for_url(re.compile(r"/admin/assignments$"))
    page.get_by_label("Program", exact=True).select_option(str(id_program))
    page.get_by_role("button", name="Show the program's caseloads").click()
    page.wait_for_url(re.compile(rf"/admin/assignments\?program={id_program}$"))
    check_page(page, "persona-caseloads")
    staff_member = page.get_by_label("Staff member", exact=True)
    offered = staff_member.locator("option").all_inner_texts()
    assert any(option.startswith(CASE_MANAGER) for option in offered), offered
    staff_member.select_option(str(elena))
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(identifier) + r"(\s|$)")).check()
    page.get_by_role("button", name="Assign students").click()
    expect(page.get_by_role("status")).to_have_text(
        f"{CASE_MANAGER} is now assigned to 1 more student."
    )
    assigned_row = (
        page.get_by_role("region", name=re.compile("^Caseload assignments"))
        .locator("tbody tr")
        .filter(has=page.get_by_role("link", name=identifier, exact=True))
        .filter(has_text=CASE_MANAGER)
    )
    expect(assigned_row).to_have_count(1)
    check_page(page, "persona-caseloads-assigned")
    with database.session_scope() as session:
        links = session.scalars(
            select(UserStudent).where(
                UserStudent.id_user == elena, UserStudent.id_student == id_student
            )
        ).all()
        assert [(link.access_level, bool(link.is_primary)) for link in links] == [("write", False)]

    # The student's page says who works with the student, and who is the primary contact.
    assigned_row.get_by_role("link", name=identifier, exact=True).click()
    page.wait_for_url(re.compile(rf"/students/{id_student}$"))
    who = page.get_by_role("list", name="Who works with this student")
    expect(who.get_by_role("listitem").filter(has_text=CASE_MANAGER)).to_have_count(1)
    expect(who.get_by_role("listitem").filter(has_text=SECOND_CASE_MANAGER)).to_contain_text(
        "Primary contact"
    )
    check_page(page, "persona-student-coordinator")

    # Her day now has the student.
    other_page.reload()
    expect(other_page.get_by_role("region", name="My caseload")).to_contain_text(identifier)

    page.go_back()
    page.get_by_role("button", name=f"Unassign {CASE_MANAGER} from {identifier}").click()
    expect(page.get_by_role("status")).to_have_text(
        f"{CASE_MANAGER} is no longer assigned to this student."
    )
    expect(
        page.get_by_role("button", name=f"Unassign {CASE_MANAGER} from {identifier}")
    ).to_have_count(0)
    check_page(page, "persona-caseloads-unassigned")
    assert id_student not in caseload(database, elena)

    other_page.reload()
    expect(other_page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(other_page.get_by_role("link", name=identifier, exact=True)).to_have_count(0)
    menu(other_page, "My students")
    expect(other_page.get_by_role("heading", level=1)).to_have_text("My students")
    expect(other_page.locator(f'a[href="/students/{id_student}"]')).to_have_count(0)
    other_page.goto(f"/students/{id_student}")
    expect(other_page.get_by_role("heading", level=1)).to_have_text("Page not found")


# -- 4. the bulk draft keeps a case manager's words ----------------------------------


def pilot_program(
    database: Database, clock: Clock, staff: demo.DemoStaff
) -> tuple[int, list[tuple[int, int]]]:
    """A new program of the demo district with two students of Elena's, one goal each
    with progress logged today; the coordinator and Elena are its members. Answers the
    program's id and each student's (id_student, id_goal)."""
    id_program = make_program(database, demo_district(database), PILOT)
    elena = user_id(staff, CASE_MANAGER)
    with database.session_scope() as session:
        for name in (COORDINATOR, CASE_MANAGER):
            session.add(
                UserProgram(id_user=user_id(staff, name), id_program=id_program, status="active")
            )
    students = []
    for number, goal in ((1, "Read a passage aloud"), (2, "Count to one hundred")):
        id_student = make_student(database, id_program, f"RIP-{number:04d}")
        id_goal = make_goal(database, id_student, goal)
        make_event(
            database,
            id_student,
            id_goal,
            f"{goal}: 4 of 5 tries today.",
            clock.now,
            id_user_created=elena,
        )
        assign(database, elena, id_student)
        students.append((id_student, id_goal))
    return id_program, students


def test_the_programs_bulk_draft_skips_a_summary_a_case_manager_edited(
    page: Page,
    other_page: Page,
    settings: Settings,
    database: Database,
    clock: Clock,
    staff: demo.DemoStaff,
) -> None:
    id_program, [(edited_student, edited_goal), (_other, other_goal)] = pilot_program(
        database, clock, staff
    )
    sign_in(other_page, settings, CASE_MANAGER)
    other_page.get_by_role("link", name="Read a passage aloud").click()
    other_page.wait_for_url(re.compile(rf"/goals/{edited_goal}$"))
    other_page.get_by_role("button", name="Draft report").click()
    other_page.wait_for_url(re.compile(r"/progress-reports/\d+$"))
    id_report = int(other_page.url.rsplit("/", 1)[1])
    expect(other_page.get_by_label("Summary")).to_contain_text("4 of 5 tries today")
    other_page.get_by_label("Summary").fill(EDITED)
    other_page.get_by_role("button", name="Save summary").click()
    expect(other_page.get_by_role("status")).to_have_text("The summary has been saved.")

    sign_in(page, settings, COORDINATOR)
    menu(page, "Reports")
    page.wait_for_url(re.compile(r"/reports$"))
    page.get_by_role("link", name=PILOT).click()
    page.wait_for_url(re.compile(rf"/programs/{id_program}/report-status\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report status: {PILOT}")
    totals = page.locator(".totals strong")
    expect(totals).to_have_text(["1", "1", "0"])
    check_page(page, "persona-board-pilot")

    page.get_by_role("button", name="Draft reports for the program").click()
    expect(page.get_by_role("status")).to_have_text(
        "1 report drafted. 1 draft that staff edited was left as it was; open the report "
        "to draft it again."
    )
    # Missing, draft, final: the other student's report is drafted, the edited one kept.
    expect(totals).to_have_text(["0", "2", "0"])
    check_page(page, "persona-board-pilot-drafted")

    with database.session_scope() as session:
        reports = {
            report.id_goal: report
            for report in session.scalars(
                select(ProgressReport).where(ProgressReport.id_goal.in_([edited_goal, other_goal]))
            )
        }
        assert reports[edited_goal].id_progress_report == id_report
        assert reports[edited_goal].summary == EDITED
        assert reports[edited_goal].id_student == edited_student
        assert "4 of 5 tries today" in (reports[other_goal].summary or "")
        assert reports[other_goal].finalized_at is None

    page.get_by_role("link", name="Read a passage aloud").click()
    page.wait_for_url(re.compile(rf"/progress-reports/{id_report}$"))
    expect(page.get_by_label("Summary")).to_have_value(EDITED)
    check_page(page, "persona-report-kept")
