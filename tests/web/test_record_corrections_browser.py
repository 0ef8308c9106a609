"""A counselor corrects her records in a real browser (SPEC section 14): a note logged as
sensitive, the mark cleared and set again (the case manager sees it only in between),
and a health note rewritten and deleted after its confirm step; axe-core at no
violation on every page at desktop width, at 768 px and at the tablet width."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from goalpath.config import Settings
from goalpath.db import Database
from tests.fixtures import demo
from tests.web.conftest import DESKTOP, LiveServer, axe_violations, check_page
from tests.web.test_staff_journeys import sign_in, tab_to
from tests.web.test_staff_pages import (
    CASE_MANAGER,
    COUNSELOR,
    root_goals,
    shared_student,
    with_staff_pages,
)

SECRET = "Spoke about a worry at home; the plan was agreed (browser 6e21)."
NOTE = "Allergy plan on file with the nurse (browser 9a04)."
NARROW = {"width": 768, "height": 1024}


@pytest.fixture(autouse=True)
def _staff_pages(app: FastAPI) -> None:
    # Before live_server starts: the server runs this app.
    with_staff_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def check(page: Page, name: str) -> None:
    """axe at desktop and tablet widths (check_page), and at 768 px."""
    check_page(page, name)
    page.set_viewport_size(NARROW)
    assert axe_violations(page) == [], f"{name} (768 px)"
    page.set_viewport_size(DESKTOP)


def case_manager_sees(
    browser: Browser, live_server: LiveServer, settings: Settings, path: str
) -> str:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, bypass_csp=True)
    try:
        other = context.new_page()
        sign_in(other, settings, CASE_MANAGER)
        other.goto(path)
        expect(other.get_by_role("heading", level=1)).to_contain_text("Student")
        return other.content()
    finally:
        context.close()


def test_a_counselor_corrects_her_records(
    browser: Browser,
    page: Page,
    live_server: LiveServer,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
) -> None:
    id_student = shared_student(database, staff, CASE_MANAGER, COUNSELOR)
    id_goal = root_goals(database, id_student)[0]
    student_path = f"/students/{id_student}"
    sign_in(page, settings, COUNSELOR)
    page.goto(student_path)

    # Log a sensitive note: the goal picker keeps the goal for the next one.
    page.get_by_label("What happened").fill(SECRET)
    page.locator("#log-goal").select_option(str(id_goal))
    page.get_by_label("Sensitive").check()
    page.get_by_role("button", name="Log progress").click()
    expect(page.locator("#progress-status")).to_have_text("Progress logged.")
    expect(page.locator("#log-goal")).to_have_value(str(id_goal))
    logged = page.locator("#progress-panel .event").first
    expect(logged).to_contain_text(SECRET)
    expect(logged.locator(".tag-sensitive")).to_have_text("Sensitive")
    check(page, "corrections-logged")
    assert "browser 6e21" not in case_manager_sees(browser, live_server, settings, student_path)

    # Un-flag it from its edit page, by keyboard alone.
    edit_link = logged.get_by_role("link", name=re.compile(r"^Edit the progress note"))
    edit_id = "edit-first-event"
    edit_link.evaluate(f"link => link.id = '{edit_id}'")
    page.locator("body").focus()
    tab_to(page, edit_id, limit=400)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/progress-events/\d+/edit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the progress note")
    expect(page.get_by_label("Sensitive")).to_be_checked()
    expect(page.get_by_label("Goal")).to_have_value(str(id_goal))
    check(page, "corrections-edit-event")
    page.get_by_label("Sensitive").uncheck()
    page.get_by_role("button", name="Save progress note").click()
    page.wait_for_url(re.compile(rf"{student_path}#progress$"))
    expect(page.locator(".flash")).to_contain_text("no longer marked sensitive")
    event = page.locator("#progress-panel .event", has_text=SECRET)
    expect(event.locator(".tag-sensitive")).to_have_count(0)
    check(page, "corrections-unflagged")
    assert "browser 6e21" in case_manager_sees(browser, live_server, settings, student_path)

    # Flag it again.
    event.get_by_role("link", name=re.compile(r"^Edit the progress note")).click()
    page.get_by_label("Sensitive").check()
    page.get_by_role("button", name="Save progress note").click()
    page.wait_for_url(re.compile(rf"{student_path}#progress$"))
    expect(page.locator(".flash")).to_contain_text("marked sensitive")
    expect(
        page.locator("#progress-panel .event", has_text=SECRET).locator(".tag-sensitive")
    ).to_have_text("Sensitive")
    assert "browser 6e21" not in case_manager_sees(browser, live_server, settings, student_path)

    # A health note: added, refused when emptied, rewritten, then deleted after asking.
    page.get_by_text("Add a health or welfare note").click()
    page.get_by_role("textbox", name="Note").fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(re.compile(rf"{student_path}#health$"))
    health = page.get_by_role("region", name="Health and welfare notes")
    health.locator(".event", has_text=NOTE).get_by_role(
        "link", name=re.compile(r"^Edit the health note")
    ).click()
    page.wait_for_url(re.compile(r"/health-notes/\d+/edit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the health note")
    expect(page.get_by_text("a note has no sensitive mark")).to_be_visible()
    expect(page.get_by_label("Sensitive")).to_have_count(0)
    check(page, "corrections-edit-note")
    page.get_by_label("Note").fill("")
    page.get_by_role("button", name="Save health note").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Write the note.")
    check(page, "corrections-edit-note-error")
    page.get_by_label("Note").fill(NOTE + " Updated.")
    page.get_by_role("button", name="Save health note").click()
    page.wait_for_url(re.compile(rf"{student_path}#health$"))
    expect(page.locator(".flash")).to_have_text("Health note saved.")
    health = page.get_by_role("region", name="Health and welfare notes")
    expect(health.get_by_text(NOTE + " Updated.")).to_be_visible()
    check(page, "corrections-note-saved")

    health.locator(".event", has_text=NOTE).get_by_role(
        "link", name=re.compile(r"^Delete the health note")
    ).click()
    page.wait_for_url(re.compile(r"/health-notes/\d+/delete$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete the health note?")
    check(page, "corrections-delete-note")
    page.get_by_role("button", name="Delete health note").click()
    page.wait_for_url(re.compile(rf"{student_path}#health$"))
    expect(page.locator(".flash")).to_have_text("Health note deleted.")
    expect(page.get_by_text("browser 9a04")).to_have_count(0)
