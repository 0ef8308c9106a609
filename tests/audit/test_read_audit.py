"""Every read of a student's goals and progress reports is on the record of access
(SPEC section 6): one "read" row per request, naming the resource, the record (none for
a list) and the student, whether through the API or the staff pages; a refused read
leaves its denied row and no read row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from tests.fixtures import demo
from tests.progress_reports.support import (
    API,
    assign,
    at,
    demo_programs,
    make_event,
    make_goal,
    make_report,
    make_student,
    sign_in,
    staff_name,
)
from tests.users.helpers import audit_rows, last_audit_id
from tests.web.test_staff_pages import sign_in as sign_in_pages
from tests.web.test_staff_pages import with_staff_pages


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI, staff: demo.DemoStaff) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


@dataclass(frozen=True)
class Records:
    """A student's goal, sub-goal and report."""

    id_student: int
    id_goal: int
    id_sub_goal: int
    id_report: int


def records(database: Database, id_program: int, identifier: str) -> Records:
    id_student = make_student(database, id_program, identifier)
    id_goal = make_goal(database, id_student, "Reading fluency")
    id_sub_goal = make_goal(database, id_student, "Decode words", id_goal_parent=id_goal)
    make_event(database, id_student, id_sub_goal, "Decoded 18 of 20 words.", at(2025, 9, 3))
    id_report = make_report(database, id_student, id_goal, "Q1", 2025)
    return Records(id_student, id_goal, id_sub_goal, id_report)


@pytest.fixture
def mine(database: Database, staff: demo.DemoStaff) -> Records:
    """On the first case manager's caseload; no sensitive event, so that reading it
    writes no row for one."""
    found = records(database, demo_programs(database)[0], "RUSD-616001")
    assign(database, staff.first("case_manager"), found.id_student)
    return found


@pytest.fixture
def outside(database: Database, staff: demo.DemoStaff) -> Records:
    """In the same program, on nobody's caseload: out of a case manager's scope."""
    return records(database, demo_programs(database)[0], "RUSD-616002")


@dataclass(frozen=True)
class Read:
    """A way to read a student's records: its path, and the read row it should leave."""

    name: str
    page: bool
    path: Callable[[Records], str]
    resource: str
    record_id: Callable[[Records], int | None]
    details: Callable[[Records], dict[str, Any]]


READS = [
    Read(
        "api goal",
        False,
        lambda found: f"{API}/goals/{found.id_goal}",
        "goal",
        lambda found: found.id_goal,
        lambda found: {},
    ),
    Read(
        "api goal list",
        False,
        lambda found: f"{API}/students/{found.id_student}/goals",
        "goal",
        lambda found: None,
        lambda found: {"id_goal": [found.id_goal, found.id_sub_goal]},
    ),
    Read(
        "api goal tree",
        False,
        lambda found: f"{API}/students/{found.id_student}/goals?tree=true",
        "goal",
        lambda found: None,
        lambda found: {"tree": True, "count": 2},
    ),
    Read(
        "api report",
        False,
        lambda found: f"{API}/progress-reports/{found.id_report}",
        "progress_report",
        lambda found: found.id_report,
        lambda found: {},
    ),
    Read(
        "api report list",
        False,
        lambda found: f"{API}/students/{found.id_student}/progress-reports",
        "progress_report",
        lambda found: None,
        lambda found: {"id_progress_report": [found.id_report]},
    ),
    Read(
        "goal page",
        True,
        lambda found: f"/goals/{found.id_goal}",
        "goal",
        lambda found: found.id_goal,
        lambda found: {},
    ),
    Read(
        "report page",
        True,
        lambda found: f"/progress-reports/{found.id_report}",
        "progress_report",
        lambda found: found.id_report,
        lambda found: {},
    ),
]


def reader(
    read: Read, client: TestClient, pages: TestClient, settings: Settings, role: str
) -> Callable[[str], int]:
    """A GET as `role`, through the pages or the API; answers the status code."""
    if read.page:
        sign_in_pages(pages, settings, staff_name(role))
        return lambda path: pages.get(path).status_code
    headers = sign_in(client, settings, role)
    return lambda path: client.get(path, headers=headers).status_code


@pytest.mark.parametrize("read", READS, ids=[read.name for read in READS])
def test_a_read_leaves_one_row_naming_the_student(
    client: TestClient,
    pages: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    mine: Records,
    read: Read,
) -> None:
    get = reader(read, client, pages, settings, "case_manager")
    before = last_audit_id(database)
    assert get(read.path(mine)) == 200
    (row,) = audit_rows(database, after=before)
    assert (row["action"], row["outcome"], row["resource"]) == ("read", "allowed", read.resource)
    assert row["id_student"] == mine.id_student
    expected_id = read.record_id(mine)
    assert row["record_id"] == (None if expected_id is None else str(expected_id))
    assert row["id_user"] == staff.first("case_manager")
    assert row["details"] == read.details(mine)


@pytest.mark.parametrize("read", READS, ids=[read.name for read in READS])
def test_a_refused_read_leaves_a_denied_row_and_no_read_row(
    client: TestClient,
    pages: TestClient,
    database: Database,
    settings: Settings,
    outside: Records,
    read: Read,
) -> None:
    get = reader(read, client, pages, settings, "case_manager")
    before = last_audit_id(database)
    assert get(read.path(outside)) == 404
    rows = audit_rows(database, after=before)
    assert [(row["action"], row["outcome"], row["id_student"]) for row in rows] == [
        ("read", "denied", outside.id_student)
    ]
    assert rows[0]["resource"] == read.resource


@pytest.mark.parametrize("read", READS, ids=[read.name for read in READS])
def test_a_role_without_the_right_leaves_no_read_row(
    client: TestClient,
    pages: TestClient,
    database: Database,
    settings: Settings,
    mine: Records,
    read: Read,
) -> None:
    """A nurse reads the program's students but neither their goals nor their reports."""
    get = reader(read, client, pages, settings, "nurse")
    before = last_audit_id(database)
    assert get(read.path(mine)) in (403, 404)
    rows = audit_rows(database, after=before)
    assert rows and all(row["outcome"] == "denied" for row in rows)
    assert {row["id_student"] for row in rows} == {mine.id_student}


def test_the_student_page_stays_one_read_of_the_student(
    pages: TestClient, database: Database, settings: Settings, mine: Records
) -> None:
    """The page shows the goal tree and the reports too; they are covered by the
    student's read row, not recorded again."""
    sign_in_pages(pages, settings, staff_name("case_manager"))
    before = last_audit_id(database)
    assert pages.get(f"/students/{mine.id_student}").status_code == 200
    rows = audit_rows(database, after=before)
    assert [(row["action"], row["resource"], row["record_id"]) for row in rows] == [
        ("read", "student", str(mine.id_student))
    ]
