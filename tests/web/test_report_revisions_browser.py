"""In Chromium: a case manager edits a draft's summary and presses Finalise without
saving; the report is final with her words, and the drafted text is listed as an
earlier version (SPEC section 14). axe-core checks the pages on the way."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import ProgressReport
from tests.fixtures import demo
from tests.web.conftest import check_page
from tests.web.test_staff_journeys import sign_in
from tests.web.test_staff_pages import (
    CASE_MANAGER,
    caseload,
    root_goals,
    user_id,
    with_staff_pages,
)

EDITED = "Read aloud each week and asked for harder books."


@pytest.fixture(autouse=True)
def _staff_pages(app: FastAPI) -> None:
    # Before live_server starts: the server runs this app.
    with_staff_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def draft_as_case_manager(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> int:
    """Signed in as the case manager, her first student's first goal's report drafted
    from the goal's page, which is open; answers its id."""
    id_student = caseload(database, user_id(staff, CASE_MANAGER))[0]
    id_goal = root_goals(database, id_student)[0]
    sign_in(page, settings, CASE_MANAGER)
    page.goto(f"/goals/{id_goal}")
    page.get_by_role("button", name="Draft report").click()
    page.wait_for_url(re.compile(r"/progress-reports/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_finalise_without_saving_keeps_the_edit(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_report = draft_as_case_manager(page, settings, database, staff)
    drafted = page.get_by_label("Summary").input_value()
    assert drafted

    page.get_by_label("Summary").fill(EDITED)
    page.get_by_role("button", name="Finalise report").click()
    expect(page.get_by_role("status")).to_have_text(
        "The summary has been saved. The report is final. It is read-only unless a "
        "coordinator reopens it."
    )
    expect(page.get_by_text("This report is final and read-only.")).to_be_visible()
    expect(page.locator(".report-text").first).to_have_text(EDITED)
    earlier = page.locator("#revisions details")
    expect(earlier).to_have_count(1)
    earlier.locator("summary").click()
    expect(earlier.locator(".report-text")).to_have_text(drafted)
    check_page(page, "staff-report-final-edited")

    with database.session_scope() as session:
        report = session.get(ProgressReport, id_report)
        assert report is not None
        assert report.finalized_at is not None and report.summary == EDITED


def test_draft_again_asks_before_it_replaces_an_edit(
    page: Page, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    draft_as_case_manager(page, settings, database, staff)
    report_url = page.url
    page.get_by_label("Summary").fill(EDITED)
    page.get_by_role("button", name="Save summary").click()
    expect(page.get_by_role("status")).to_have_text("The summary has been saved.")

    page.get_by_role("button", name="Draft again from progress").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Replace the edited summary?")
    check_page(page, "staff-report-redraft-confirm")
    page.get_by_role("link", name="Keep the edited text and go back to the report").click()
    expect(page.get_by_label("Summary")).to_have_value(EDITED)

    page.get_by_role("button", name="Draft again from progress").click()
    page.get_by_role("button", name="Replace my edited text").click()
    page.wait_for_url(report_url)
    expect(page.get_by_role("status")).to_contain_text("The edited text is kept under Earlier")
    expect(page.get_by_label("Summary")).not_to_have_value(EDITED)
    expect(page.locator("#revisions details")).to_have_count(2)
