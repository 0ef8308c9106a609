"""/audit-events: the trail is readable by holders of audit_event:read, scoped to their
district in SQL, exportable as CSV, and never writable through the application."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import insert

from goalpath.audit.api import router as audit_router
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.student_access.support import (
    API,
    audit_rows,
    caseload,
    demo_headers,
    other_district,
    sign_in_other,
)

URL = f"{API}/audit-events"
# Cursors this server never issues: they must be refused (422), not reach SQL.
FORGED_CURSORS = ('["abc"]', "[99999999999999999999]", "[true]", '[{"t": "2020-01-01T00:00:00"}]')


def forged_cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def all_pages(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 200}
        if cursor:
            query["cursor"] = cursor
        response = client.get(URL, headers=headers, params=query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_only_holders_of_audit_read_may_read(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    for role in ("case_manager", "counselor", "nurse", "program_coordinator"):
        id_user = staff.first(role)
        headers = demo_headers(client, settings, staff, id_user)
        assert client.get(URL, headers=headers).status_code == 403, role
        assert client.get(f"{URL}/export.csv", headers=headers).status_code == 403, role
        assert (
            client.get(f"{URL}/accessors", headers=headers, params={"id_student": 1})
        ).status_code == 403, role
        assert client.get(f"{URL}/1", headers=headers).status_code == 403, role
        denied = audit_rows(database, id_user=id_user, outcome="denied", resource="audit_event")
        assert [row.action for row in denied] == ["read"] * 4, role
    for role in ("auditor", "district_admin", "system_admin"):
        headers = demo_headers(client, settings, staff, staff.first(role))
        assert client.get(URL, headers=headers).status_code == 200, role
    assert client.get(URL).status_code == 401


def test_auditor_sees_only_their_district(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    # Activity in both districts: sign-ins, reads and a denial in Hillcrest.
    hillcrest = sign_in_other(client, other.case_manager_email)
    hillcrest_student = other.id_students[0]
    assert (
        client.get(f"{API}/students/{hillcrest_student}/access-explanation", headers=hillcrest)
    ).status_code == 200
    assert (
        client.post(
            f"{API}/students/{hillcrest_student}/access",
            headers=hillcrest,
            json={"id_user": other.id_admin},
        )
    ).status_code == 403
    id_counselor = staff.first("counselor")
    counselor = demo_headers(client, settings, staff, id_counselor)
    riverbend_student = caseload(database, id_counselor)[0].id_student
    assert (
        client.get(f"{API}/students/{riverbend_student}/access-explanation", headers=counselor)
    ).status_code == 200

    hillcrest_people = {other.id_admin, other.id_case_manager, other.id_auditor}
    riverbend_people = set(staff.by_email.values())
    auditor = demo_headers(client, settings, staff, staff.first("auditor"))
    seen = all_pages(client, auditor)
    assert seen, "the auditor sees their district's rows"
    assert {item["id_user"] for item in seen} <= riverbend_people
    assert not {item["id_student"] for item in seen} & set(other.id_students)
    assert any(
        item["id_student"] == riverbend_student and item["action"] == "read" for item in seen
    )
    assert all_pages(client, auditor, id_student=hillcrest_student) == []
    assert all_pages(client, auditor, id_user=other.id_case_manager) == []
    hillcrest_rows = audit_rows(database, id_user=other.id_case_manager)
    assert len(hillcrest_rows) >= 3
    for row in hillcrest_rows:
        item = client.get(f"{URL}/{row.id_audit_event}", headers=auditor)
        assert item.status_code == 404

    # Hillcrest's auditor sees exactly the other half.
    theirs = all_pages(client, sign_in_other(client, other.auditor_email))
    # Outsiders appear only through refused attempts on Hillcrest's students (the
    # Riverbend auditor's 404s above are filed under the student they concern).
    assert {
        item["id_user"] for item in theirs if item["id_student"] not in other.id_students
    } <= hillcrest_people
    assert all(
        item["outcome"] == "denied" for item in theirs if item["id_user"] not in hillcrest_people
    )
    assert {item["id_audit_event"] for item in theirs} >= {
        row.id_audit_event for row in hillcrest_rows
    }
    # The system administrator reads every row.
    everything = all_pages(
        client, demo_headers(client, settings, staff, staff.first("system_admin"))
    )
    assert {item["id_user"] for item in everything} >= {
        other.id_case_manager,
        other.id_auditor,
        id_counselor,
    }


def test_list_is_newest_first_and_filters(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    id_counselor = staff.first("counselor")
    elena = staff.first("case_manager")
    # A student both can read: Elena is refused the create (403), not told it is absent.
    shared = {link.id_student for link in caseload(database, elena)}
    id_student = next(
        link.id_student for link in caseload(database, id_counselor) if link.id_student in shared
    )
    counselor = demo_headers(client, settings, staff, id_counselor)
    early = clock.now
    client.get(f"{API}/students/{id_student}/access-explanation", headers=counselor)
    # Less than the idle timeout, so the counselor's session lives on.
    clock.advance(minutes=20)
    late = clock.now
    client.get(f"{API}/students/{id_student}/access-explanation", headers=counselor)
    client.post(
        f"{API}/students/{id_student}/access",
        headers=demo_headers(client, settings, staff, elena),
        json={"id_user": id_counselor},
    )
    auditor = demo_headers(client, settings, staff, staff.first("auditor"))

    everything = all_pages(client, auditor)
    ids = [item["id_audit_event"] for item in everything]
    assert ids == sorted(ids, reverse=True)

    reads = all_pages(client, auditor, id_student=id_student, action="read")
    assert [datetime.fromisoformat(item["occurred_at"]) for item in reads] == [late, early]
    assert all(item["id_user"] == id_counselor for item in reads)
    assert reads[0]["details"] == {"view": "access_explanation"}

    denied = all_pages(client, auditor, outcome="denied")
    assert [(item["id_user"], item["action"], item["resource"]) for item in denied] == [
        (elena, "create", "student_access")
    ]
    assert denied[0]["details"] == {"reason": "forbidden"}
    assert all_pages(client, auditor, resource="student_access", id_user=elena) == denied

    window = {
        "occurred_from": (late - timedelta(minutes=1)).isoformat(),
        "occurred_to": (late + timedelta(minutes=1)).isoformat(),
    }
    in_window = all_pages(client, auditor, id_student=id_student, **window)
    assert len(in_window) == 2  # the late read and the denial
    naive = {
        "occurred_from": (early - timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
        "occurred_to": (early + timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
    }
    assert len(all_pages(client, auditor, id_student=id_student, **naive)) == 1

    backwards = client.get(
        URL,
        headers=auditor,
        params={"occurred_from": late.isoformat(), "occurred_to": early.isoformat()},
    )
    assert backwards.status_code == 422
    wide = {"occurred_from": "1000-01-01T00:00:00+01:00", "occurred_to": "9999-12-31T23:59:59"}
    assert len(all_pages(client, auditor, id_student=id_student, **wide)) == 3
    for bad in (
        {"occurred_from": "0001-01-01T00:00:00+01:00"},
        {"occurred_to": "9999-12-31T23:59:59-05:00"},
        {"occurred_from": "yesterday"},
        {"id_student": "x"},
        {"id_student": 2**31},
        {"cursor": "not-a-cursor"},
        *({"cursor": forged_cursor(raw)} for raw in FORGED_CURSORS),
        {"action": "login\x00failed"},
        {"resource": "student access"},
        {"outcome": ""},
        {"limit": 201},
    ):
        assert client.get(URL, headers=auditor, params=bad).status_code == 422, bad


def test_pages_do_not_repeat_or_skip(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    auditor = demo_headers(client, settings, staff, staff.first("auditor"))
    for role in ("counselor", "case_manager", "nurse"):
        demo_headers(client, settings, staff, staff.first(role))
    expected = [item["id_audit_event"] for item in all_pages(client, auditor)]
    assert len(expected) >= 4
    walked: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, headers=auditor, params=params).json()
        walked += [item["id_audit_event"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == expected


def test_denied_request_leaves_a_row_after_the_rollback(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    id_admin = staff.first("district_admin")
    admin = demo_headers(client, settings, staff, id_admin)
    response = client.get(f"{API}/students/{other.id_students[0]}/access", headers=admin)
    assert response.status_code == 404
    rows = audit_rows(database, id_user=id_admin, outcome="denied")
    assert [(row.action, row.resource, row.id_student) for row in rows] == [
        ("read", "student_access", other.id_students[0])
    ]
    assert json.loads(rows[0].details or "{}") == {"reason": "student_out_of_scope"}
    # The row is about Hillcrest's student, so it is Hillcrest's (SPEC section 11): their
    # auditor sees the attempt, Riverbend's does not, though its own admin made it.
    theirs = all_pages(client, sign_in_other(client, other.auditor_email), outcome="denied")
    assert [item["id_audit_event"] for item in theirs] == [rows[0].id_audit_event]
    ours = all_pages(
        client, demo_headers(client, settings, staff, staff.first("auditor")), outcome="denied"
    )
    assert ours == []


def test_csv_export_has_a_header_and_the_rows_and_is_audited(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_counselor = staff.first("counselor")
    id_student = caseload(database, id_counselor)[0].id_student
    counselor = demo_headers(client, settings, staff, id_counselor)
    client.get(f"{API}/students/{id_student}/access-explanation", headers=counselor)
    client.get(f"{API}/students/{id_student}/access-explanation", headers=counselor)
    with database.engine.begin() as connection:
        connection.execute(
            insert(AuditEvent),
            [
                {
                    "occurred_at": datetime.now(UTC),
                    "id_user": id_counselor,
                    "action": "read",
                    "resource": "goal",
                    "record_id": "=HYPERLINK(1)",
                    "id_student": id_student,
                    "outcome": "allowed",
                }
            ],
        )
    id_auditor = staff.first("auditor")
    auditor = demo_headers(client, settings, staff, id_auditor)
    response = client.get(f"{URL}/export.csv", headers=auditor, params={"id_student": id_student})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert ".csv" in disposition
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == [
        "id_audit_event",
        "occurred_at",
        "id_user",
        "user_name",
        "user_email",
        "ip",
        "action",
        "resource",
        "record_id",
        "id_student",
        "student_identifier",
        "outcome",
        "details",
    ]
    expected = [
        row for row in audit_rows(database, id_student=id_student) if row.action != "export"
    ]
    assert len(expected) == 3
    body = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [int(line["id_audit_event"]) for line in body] == [
        row.id_audit_event for row in reversed(expected)
    ]
    assert {line["action"] for line in body} == {"read"}
    assert all(line["id_student"] == str(id_student) for line in body)
    # The person and the student are named beside their ids.
    assert all(line["user_name"] and "@" in line["user_email"] for line in body)
    assert all(line["student_identifier"] for line in body)
    assert body[0]["record_id"] == "'=HYPERLINK(1)"
    assert body[1]["details"] == '{"view": "access_explanation"}'

    exports = audit_rows(database, action="export", resource="audit_event")
    assert len(exports) == 1
    assert exports[0].id_user == id_auditor
    assert exports[0].id_student == id_student
    assert json.loads(exports[0].details or "{}") == {
        "filters": {"id_student": id_student},
        "rows": 3,
    }
    # The export is itself on the trail the next export shows.
    again = client.get(f"{URL}/export.csv", headers=auditor, params={"id_student": id_student})
    assert list(csv.reader(io.StringIO(again.text)))[1][6] == "export"


def test_csv_export_is_scoped_like_the_list(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    sign_in_other(client, other.case_manager_email)
    auditor = demo_headers(client, settings, staff, staff.first("auditor"))
    listed = {item["id_audit_event"] for item in all_pages(client, auditor)}
    response = client.get(f"{URL}/export.csv", headers=auditor)
    exported = {int(line[0]) for line in list(csv.reader(io.StringIO(response.text)))[1:]}
    assert exported == listed
    assert not exported & {
        row.id_audit_event for row in audit_rows(database, id_user=other.id_case_manager)
    }


def test_statement_count_does_not_grow_with_the_page(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    for role in ("counselor", "case_manager", "nurse", "program_coordinator"):
        demo_headers(client, settings, staff, staff.first(role))
    auditor = demo_headers(client, settings, staff, staff.first("auditor"))
    with count_statements(database.engine) as one:
        small = client.get(URL, headers=auditor, params={"limit": 1})
    with count_statements(database.engine) as fifty:
        large = client.get(URL, headers=auditor, params={"limit": 50})
    assert len(small.json()["items"]) == 1
    assert len(large.json()["items"]) >= 5
    assert one.count == fifty.count


def test_the_trail_cannot_be_changed_through_the_application(
    app: FastAPI, client: TestClient, settings: Settings, staff: demo.DemoStaff
) -> None:
    assert audit_router.routes
    for route in audit_router.routes:
        assert isinstance(route, APIRoute)
        assert route.methods == {"GET"}, route.path
    writers = [
        (route.path, sorted(route.methods))
        for route in app.routes
        if isinstance(route, APIRoute)
        and "audit-event" in route.path
        and route.methods & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert writers == []
    system_admin = demo_headers(client, settings, staff, staff.first("system_admin"))
    newest = client.get(URL, headers=system_admin, params={"limit": 1}).json()["items"][0]
    item = f"{URL}/{newest['id_audit_event']}"
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, item, headers=system_admin, json={"outcome": "allowed"})
        assert response.status_code == 405, method
        assert client.request(method, URL, headers=system_admin, json={}).status_code == 405
    assert client.get(item, headers=system_admin).json() == newest
