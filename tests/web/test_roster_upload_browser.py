"""The roster upload page in a real browser: upload, preview, apply; axe-core's WCAG 2.1
AA checks at desktop width and at 768 px on the form and the preview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import RosterSource
from tests.fixtures import demo
from tests.rosters.test_import import bulk_files
from tests.rosters.test_upload_pages import DISTRICT_ADMIN, zipped
from tests.web.conftest import DESKTOP, SCREENSHOTS, axe_violations

NARROW: ViewportSize = {"width": 768, "height": 1024}


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def accessible_at_both_widths(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("768", NARROW)):
        page.set_viewport_size(viewport)
        violations = axe_violations(page)
        assert violations == [], f"{name} ({label}): {violations}"
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png")
    page.set_viewport_size(DESKTOP)


def test_an_administrator_checks_and_applies_a_roster(
    page: Page, database: Database, settings: Settings, staff: demo.DemoStaff, tmp_path: Path
) -> None:
    archive = tmp_path / "riverbend-roster.zip"
    archive.write_bytes(zipped(bulk_files()))
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(demo_email(DISTRICT_ADMIN))
    page.get_by_label("Password", exact=True).fill(settings.demo_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/admin/roster")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roster import")
    accessible_at_both_widths(page, "roster-upload")

    page.get_by_label("Roster zip file").set_input_files(archive)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("would change")
    expect(page.get_by_role("row", name=re.compile("Students"))).to_contain_text("2")
    accessible_at_both_widths(page, "roster-preview")
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RosterSource)) == 0

    page.get_by_role("button", name="Apply this import").click()
    page.wait_for_url(re.compile(r"/admin/roster$"))
    expect(page.get_by_role("status")).to_contain_text("Roster imported")
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RosterSource)) > 0
