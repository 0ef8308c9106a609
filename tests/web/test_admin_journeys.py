"""An administrator's day in a real browser against the real server: create an account,
meet the escalation guard, give the account a program and a caseload, read the audit
trail; axe-core's WCAG 2.1 AA checks and screenshots on every page on the way."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import Program, Student, User, UserProgram, UserStudent
from tests.fixtures import demo
from tests.web.conftest import check_page
from tests.web.test_admin_pages import (
    AUDITOR,
    DISTRICT_ADMIN,
    GOOD_PASSWORD,
    with_admin_pages,
)

NEW_NAME = "Rosa Delgado"
NEW_EMAIL = "rosa.delgado@riverbend-usd.example"
PROGRAM = "Special Education - Elementary"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    return with_admin_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def sign_in(page: Page, settings: Settings, name: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(demo_email(name))
    page.get_by_label("Password", exact=True).fill(settings.demo_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def identifiers(database: Database, program: str, count: int) -> list[str]:
    with database.session_scope() as session:
        rows = session.scalars(
            select(Student.identifier)
            .join(Program, Program.id_program == Student.id_program)
            .where(Program.name == program)
            .order_by(Student.identifier)
            .limit(count)
        )
        return [identifier or "" for identifier in rows]


def test_an_administrator_creates_an_account_with_a_role_a_program_and_a_caseload(
    page: Page, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in(page, settings, DISTRICT_ADMIN)
    page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    check_page(page, "admin-index")

    admin_nav = page.get_by_role("navigation", name="Administration")
    admin_nav.get_by_role("link", name="Staff").click()
    page.wait_for_url(re.compile(r"/admin/users$"))
    check_page(page, "admin-users")
    page.get_by_role("link", name="Add a staff member").click()
    page.wait_for_url(re.compile(r"/admin/users/new$"))
    check_page(page, "admin-user-new")

    # Submitted empty: the summary names each missing field and takes the focus.
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a role.")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    check_page(page, "admin-user-new-error")

    page.get_by_label("Name", exact=True).fill(NEW_NAME)
    page.get_by_label("Email address").fill(NEW_EMAIL)
    # A district administrator lacks the health-note rights a counselor carries, so
    # the form does not offer the role (a forged post is refused: test_admin_pages).
    offered = page.get_by_label("Role", exact=True).locator("option").all_inner_texts()
    assert "Counselor" not in offered and "Case manager" in offered
    page.get_by_label("Role", exact=True).select_option(label="Case manager")
    page.get_by_label("Give an initial password now").check()
    page.get_by_label("Initial password", exact=True).fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/admin/users/\d+$"))
    expect(page.get_by_role("status")).to_have_text(f"The account for {NEW_NAME} has been created.")
    expect(page.get_by_role("heading", level=1)).to_have_text(NEW_NAME)
    check_page(page, "admin-user")

    # The role can be changed to one whose rights the administrator holds.
    page.get_by_label("Role", exact=True).select_option(label="Program coordinator")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_have_text(f"{NEW_NAME}'s role has been changed.")
    page.get_by_label("Role", exact=True).select_option(label="Case manager")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_have_text(f"{NEW_NAME}'s role has been changed.")

    admin_nav.get_by_role("link", name="Programs").click()
    page.wait_for_url(re.compile(r"/admin/programs$"))
    check_page(page, "admin-programs")
    page.get_by_role("link", name=PROGRAM, exact=True).click()
    page.get_by_label("Staff member's email address").fill(NEW_EMAIL)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text(f"{NEW_NAME} is now a member of the program.")
    expect(page.get_by_role("table")).to_contain_text(NEW_NAME)
    check_page(page, "admin-program")

    caseload = identifiers(database, PROGRAM, 2)
    admin_nav.get_by_role("link", name="Caseloads").click()
    page.wait_for_url(re.compile(r"/admin/assignments$"))
    check_page(page, "admin-assignments")
    page.get_by_label("Program", exact=True).select_option(
        label=f"{PROGRAM} (Riverbend Unified School District)"
    )
    page.get_by_role("button", name="Show the program's caseloads").click()
    page.wait_for_url(re.compile(r"/admin/assignments\?program="))
    check_page(page, "admin-assignments-program")
    page.get_by_label("Staff member", exact=True).select_option(label=NEW_NAME)
    page.get_by_role("checkbox", name=re.compile("^" + re.escape(caseload[0]))).check()
    page.get_by_label("Or paste student identifiers").fill(caseload[1].lower())
    page.get_by_role("button", name="Assign students").click()
    expect(page.get_by_role("status")).to_have_text(
        f"{NEW_NAME} is now assigned to 2 more students."
    )

    admin_nav.get_by_role("link", name="Audit trail").click()
    page.wait_for_url(re.compile(r"/audit-events$"))
    page.get_by_label("Student", exact=True).fill(caseload[0])
    page.get_by_role("button", name="Apply filters").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("student access")
    expect(table).to_contain_text("Marcus Oyelaran")
    expect(page.get_by_role("link", name="Download these rows as CSV")).to_have_attribute(
        "href", re.compile(r"^/audit-events/export\.csv\?student=")
    )
    check_page(page, "admin-audit")

    with database.session_scope() as session:
        created = session.scalars(select(User).where(User.email == NEW_EMAIL)).one()
        memberships = session.scalars(
            select(UserProgram.status).where(UserProgram.id_user == created.id_user)
        ).all()
        assigned = session.scalars(
            select(UserStudent.id_student).where(UserStudent.id_user == created.id_user)
        ).all()
    assert memberships == ["active"]
    assert len(assigned) == 2


def test_roles_and_districts_pages_read_well_for_an_auditor(
    page: Page, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in(page, settings, AUDITOR)
    page.goto("/admin/roles")
    check_page(page, "admin-roles")
    page.get_by_role("link", name="Counselor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Counselor")
    expect(page.get_by_role("table")).to_contain_text("health note")
    # An auditor reads roles and cannot change them: no form, no remove buttons.
    expect(page.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)
    check_page(page, "admin-role")
    page.goto("/admin/districts")
    check_page(page, "admin-districts")
    # The table scrolls by keyboard when it is wider than a tablet's screen.
    page.goto("/audit-events")
    region = page.get_by_role("region", name="Audit events")
    expect(region).to_have_attribute("tabindex", "0")
