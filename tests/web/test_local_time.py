"""Times in the district's zone, labelled, and US dates for US districts (SPEC 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import SchoolDistrict
from goalpath.web.local_time import Locale, day_text, moment_text
from tests.fixtures import demo
from tests.web.test_admin_pages import AUDITOR, DISTRICT_ADMIN, post, sign_in_demo
from tests.web.test_staff_pages import with_staff_pages


def test_times_read_in_the_districts_zone() -> None:
    winter = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)
    eastern = Locale("America/New_York", us=True)
    assert moment_text(winter, eastern) == "Dec 1, 2026, 9:05 AM EST"
    assert moment_text(summer, eastern) == "Jul 1, 2026, 10:05 AM EDT"
    assert moment_text(winter, Locale("America/Chicago", us=True)) == "Dec 1, 2026, 8:05 AM CST"
    assert moment_text(winter, Locale("Europe/Berlin", us=False)) == "1 Dec 2026, 15:05 CET"
    # Late in the evening in the district is still that day, not the UTC one.
    late = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert day_text(late, Locale("America/Los_Angeles", us=True)) == "Dec 1, 2026"
    assert day_text(date(2026, 9, 4), Locale(us=False)) == "4 Sep 2026"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_staff_pages(app), raise_server_exceptions=False) as client:
        yield client


def _district(database: Database) -> int:
    with database.session_scope() as session:
        found = session.scalar(select(SchoolDistrict.id_school_district))
    assert found is not None
    return found


def test_a_district_administrator_sets_the_zone_and_pages_follow(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    district = _district(database)
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    form = pages.get(f"/admin/districts/{district}")
    assert form.status_code == 200
    assert '<option value="America/New_York" selected>' in form.text
    refused = post(
        pages,
        f"/admin/districts/{district}",
        {"name": "Riverbend Unified School District", "time_zone": "Mars/Olympus"},
    )
    assert refused.status_code == 422
    assert "Time zone must be a time zone name such as America/Chicago." in refused.text
    saved = post(
        pages,
        f"/admin/districts/{district}",
        {
            "name": "Riverbend Unified School District",
            "contact_email": "office@riverbend-usd.example",
            "time_zone": "America/Chicago",
            "country_code": "US",
        },
    )
    assert saved.status_code == 303, saved.text
    with database.session_scope() as session:
        row = session.get(SchoolDistrict, district)
        assert row is not None and row.time_zone == "America/Chicago"

    sign_in_demo(pages, settings, AUDITOR)
    trail = pages.get("/audit-events").text
    assert "Times are in America/Chicago (C" in trail
    assert " CST</time>" in trail or " CDT</time>" in trail
    assert " UTC</time>" not in trail


def test_the_api_keeps_the_zone_and_refuses_a_bad_one(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    district = _district(database)
    with database.session_scope() as session:
        session.execute(
            update(SchoolDistrict)
            .where(SchoolDistrict.id_school_district == district)
            .values(country_code="CA", time_zone="America/Toronto")
        )
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    shown = pages.get(f"/api/v1/districts/{district}")
    assert shown.status_code == 200
    assert shown.json()["time_zone"] == "America/Toronto"
    assert shown.json()["country_code"] == "CA"
    bad = pages.patch(
        f"/api/v1/districts/{district}",
        json={"country_code": "usa"},
        headers={"x-csrftoken": pages.cookies["csrftoken"]},
    )
    assert bad.status_code == 422
    # Dates on a Canadian district's pages are day first.
    home = pages.get("/").text
    assert re.search(r"District administrator · \d{1,2} [A-Z][a-z]{2} \d{4}<", home), home[:2000]
