"""The staff's daily pages in a real browser against the real server, on the demo
district: a case manager's day from finding a student to a final report (one form by
keyboard alone), a counselor's restricted notes, and a coordinator's report board;
axe-core's WCAG 2.1 AA checks and screenshots of every page (SPEC sections 1, 8, 9)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from tests.fixtures import demo
from tests.web.conftest import DESKTOP, LiveServer, check_page
from tests.web.test_staff_pages import (
    CASE_MANAGER,
    COORDINATOR,
    COUNSELOR,
    caseload,
    program_of,
    root_goals,
    shared_student,
    user_id,
    with_staff_pages,
)

NOTE = "Weekly check-in with the counselor agreed with the family (journey 51d2)."


@pytest.fixture(autouse=True)
def _staff_pages(app: FastAPI) -> None:
    # Before live_server starts: the server runs this app.
    with_staff_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def sign_in(page: Page, settings: Settings, name: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(demo_email(name))
    page.get_by_label("Password", exact=True).fill(settings.demo_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def active_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def tab_to(page: Page, element_id: str, limit: int = 120) -> None:
    """Move focus with the Tab key alone until it reaches the element."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if active_id(page) == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_a_case_managers_day(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[1]
    id_goal = root_goals(database, id_student)[0]
    sign_in(page, settings, CASE_MANAGER)
    # Her day first: the home page lists her caseload.
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.get_by_role("region", name="My caseload")).to_be_visible()
    check_page(page, "home-case-manager")

    page.goto("/students")
    expect(page.get_by_role("heading", level=1)).to_have_text("My students")
    check_page(page, "staff-students")
    identifier = page.locator(f'a[href="/students/{id_student}"]').inner_text()

    # Find the student: htmx swaps the results in and the live region says how many.
    page.get_by_label("Identifier starts with").fill(identifier)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#students-status")).to_have_text(
        f"1 student shown whose identifier starts with \u201c{identifier}\u201d."
    )
    expect(page.locator("#student-results tbody tr")).to_have_count(1)
    assert page.url.endswith(f"/students?q={identifier}")
    check_page(page, "staff-students-search")
    page.get_by_role("link", name=identifier).click()
    page.wait_for_url(re.compile(rf"/students/{id_student}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Student {identifier}")
    page.get_by_text("Why can I see this student?").click()
    expect(page.get_by_text("you are assigned to this student")).to_be_visible()
    check_page(page, "staff-student")

    # Add a sub-goal in the tree: the fragment comes back and focus lands on it.
    goal_card = page.locator(f"#goal-link-{id_goal}").locator("xpath=ancestor::div[1]")
    goal_card.locator("summary").first.click()
    goal_card.get_by_label("Sub-goal title").fill("Sound out three-syllable words")
    goal_card.get_by_role("button", name="Add sub-goal").click()
    expect(page.locator("#goals-status")).to_have_text(
        "Sub-goal \u201cSound out three-syllable words\u201d added."
    )
    new_link = page.get_by_role("link", name="Sound out three-syllable words")
    expect(new_link).to_be_focused()
    new_goal = int(str(new_link.get_attribute("href")).rsplit("/", 1)[1])

    # A refused sub-goal: the summary is announced and takes focus.
    goal_card = page.locator(f"#goal-link-{id_goal}").locator("xpath=ancestor::div[1]")
    goal_card.locator("summary").first.click()
    goal_card.get_by_role("button", name="Add sub-goal").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Enter a title for the goal.")
    check_page(page, "staff-student-goal-error")

    # Log progress against the new sub-goal (the goal list was refreshed with the tree).
    page.get_by_label("What happened").fill("Sounded out 4 of 5 three-syllable words.")
    page.locator("#log-goal").select_option(str(new_goal))
    page.get_by_role("button", name="Log progress").click()
    expect(page.locator("#progress-status")).to_have_text("Progress logged.")
    first_event = page.locator("#progress-panel .event").first
    expect(first_event).to_contain_text("Sounded out 4 of 5 three-syllable words.")
    expect(first_event).to_contain_text("Sound out three-syllable words")
    expect(page.get_by_label("What happened")).to_have_value("")

    # The goal page: sub-goals, the chart and its text alternative.
    page.locator(f"#goal-link-{id_goal}").click()
    page.wait_for_url(re.compile(rf"/goals/{id_goal}$"))
    chart = page.locator("svg[role=img]")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("Progress notes per week")
    expect(page.locator("#chart-summary")).to_contain_text("progress notes logged")
    expect(page.get_by_role("link", name="Sound out three-syllable words")).to_be_visible()
    check_page(page, "staff-goal")

    # Draft the goal's report for the current period; the draft opens.
    page.get_by_role("button", name="Draft report").click()
    page.wait_for_url(re.compile(r"/progress-reports/\d+$"))
    expect(page.get_by_role("status")).to_have_text("1 report drafted.")
    expect(page.get_by_label("Summary")).to_contain_text("Sounded out 4 of 5")
    check_page(page, "staff-report")

    # Edit and save with the keyboard alone.
    page.locator("body").focus()
    tab_to(page, "summary")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert active_id(page) == "save-summary"
    page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#summary-error")).to_have_text("Write the summary.")
    check_page(page, "staff-report-error")
    tab_to(page, "summary")
    page.keyboard.type("Made steady progress this quarter.")
    page.keyboard.press("Tab")
    assert active_id(page) == "save-summary"
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("The summary has been saved.")
    expect(page.get_by_label("Summary")).to_have_value("Made steady progress this quarter.")
    tab_to(page, "finalise")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "The report is final. It is read-only unless a coordinator reopens it."
    )
    expect(page.get_by_text("This report is final and read-only.")).to_be_visible()
    expect(page.get_by_role("button", name="Save summary")).to_have_count(0)
    check_page(page, "staff-report-final")


def test_a_counselor_reads_a_note_the_case_manager_cannot_find(
    browser: Browser,
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    sign_in(page, settings, COUNSELOR)
    page.goto(f"/students/{id_student}")
    page.get_by_role("link", name="Health and welfare notes").click()
    page.get_by_text("Add a health or welfare note").click()
    page.get_by_role("textbox", name="Note").fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(rf"/students/{id_student}#health$"))
    health = page.get_by_role("region", name="Health and welfare notes")
    expect(health.get_by_text(NOTE)).to_be_visible()
    check_page(page, "staff-student-counselor")

    other = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
    try:
        case_manager = other.new_page()
        sign_in(case_manager, settings, CASE_MANAGER)
        case_manager.goto(f"/students/{id_student}")
        expect(case_manager.get_by_role("heading", level=1)).to_contain_text("Student")
        expect(case_manager.get_by_role("region", name="Health and welfare notes")).to_have_count(0)
        expect(case_manager.get_by_role("link", name="Health and welfare notes")).to_have_count(0)
        expect(case_manager.get_by_text(NOTE)).to_have_count(0)
        assert "journey 51d2" not in case_manager.content()
    finally:
        other.close()


def test_a_coordinator_checks_and_drafts_the_programs_reports(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_program = program_of(database, caseload(database, user_id(staff, CASE_MANAGER))[0])
    sign_in(page, settings, COORDINATOR)
    page.goto("/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Progress reports")
    check_page(page, "staff-reports")
    page.get_by_role("link", name="Special Education - Elementary").click()
    page.wait_for_url(re.compile(rf"/programs/{id_program}/report-status\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Report status: Special Education - Elementary"
    )
    check_page(page, "staff-board")

    page.get_by_label("Period").select_option("Q1")
    page.get_by_label("School year").select_option("2025")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"period=Q1&year=2025"))
    expect(page.get_by_role("table")).to_contain_text("Final")

    page.get_by_label("Period").select_option("Q2")
    page.get_by_label("School year").select_option("2026")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"period=Q2&year=2026"))
    missing = int(page.locator(".totals strong").first.inner_text())
    assert missing > 0
    page.get_by_role("button", name="Draft reports for the program").click()
    expect(page.get_by_role("status")).to_have_text(f"{missing} reports drafted.")
    expect(page.locator(".totals strong").first).to_have_text("0")
    check_page(page, "staff-board-drafted")

    page.goto("/students/999999")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_page(page, "staff-not-found")


def test_staff_pages_keep_to_the_csp(
    browser: Browser,
    live_server: LiveServer,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
) -> None:
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(page, settings, CASE_MANAGER)
        for path in ("/students", f"/students/{id_student}", f"/goals/{id_goal}", "/reports"):
            page.goto(path)
            assert page.evaluate("typeof htmx") == "object", path
        page.goto(f"/students/{id_student}")
        page.get_by_label("What happened").fill("Checked the CSP with htmx.")
        page.get_by_role("button", name="Log progress").click()
        expect(page.locator("#progress-status")).to_have_text("Progress logged.")
    finally:
        context.close()
    assert problems == []
