""" "Who has seen this student's records" is one query over real audit rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from goalpath.audit.queries import accessors_of_student
from goalpath.config import Settings
from goalpath.db import Database
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.student_access.support import (
    API,
    caseload,
    demo_headers,
    other_district,
    sign_in_other,
)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def test_accessors_of_a_student(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    other = other_district(database, settings)
    grace = staff.first("counselor")
    elena, jordan = staff.by_role["case_manager"][:2]
    elenas = {link.id_student for link in caseload(database, elena)}
    jordans = {link.id_student for link in caseload(database, jordan)}
    id_student = next(
        link.id_student
        for link in caseload(database, grace)
        if link.id_student in elenas and link.id_student not in jordans
    )
    started = clock.now

    counselor = demo_headers(client, settings, staff, grace)
    for _ in range(2):
        explained = client.get(f"{API}/students/{id_student}/access-explanation", headers=counselor)
        assert explained.status_code == 200
    clock.advance(hours=1)
    refused = client.get(
        f"{API}/students/{id_student}/access",
        headers=demo_headers(client, settings, staff, jordan),
    )
    assert refused.status_code == 404
    clock.advance(hours=1)
    forbidden = client.post(
        f"{API}/students/{id_student}/access",
        headers=demo_headers(client, settings, staff, elena),
        json={"id_user": jordan},
    )
    assert forbidden.status_code == 403
    # Another student's reads are not counted.
    other_student = next(iter(elenas - {id_student}))
    client.get(
        f"{API}/students/{other_student}/access",
        headers=demo_headers(client, settings, staff, elena),
    )

    with database.session_scope() as session, count_statements(database.engine) as log:
        accessors = accessors_of_student(session, id_student)
    assert log.count == 1
    assert [
        (a.id_user, a.name, a.email, a.events, a.denied, a.last_occurred_at) for a in accessors
    ] == [
        (
            elena,
            "Elena Castillo",
            "elena.castillo@riverbend-usd.example",
            1,
            1,
            started + timedelta(hours=2),
        ),
        (
            jordan,
            "Jordan Blake",
            "jordan.blake@riverbend-usd.example",
            1,
            1,
            started + timedelta(hours=1),
        ),
        (grace, "Grace Okafor", "grace.okafor@riverbend-usd.example", 2, 0, started),
    ]
    assert accessors[-1].first_occurred_at == started

    auditor = demo_headers(client, settings, staff, staff.first("auditor"))
    response = client.get(
        f"{API}/audit-events/accessors", headers=auditor, params={"id_student": id_student}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id_student"] == id_student
    assert [(item["id_user"], item["events"], item["denied"]) for item in body["items"]] == [
        (elena, 1, 1),
        (jordan, 1, 1),
        (grace, 2, 0),
    ]
    # Another district's auditor learns nothing about this student.
    hillcrest = sign_in_other(client, other.auditor_email)
    theirs = client.get(
        f"{API}/audit-events/accessors", headers=hillcrest, params={"id_student": id_student}
    )
    assert theirs.status_code == 200
    assert theirs.json()["items"] == []
    assert (
        client.get(f"{API}/audit-events/accessors", headers=auditor, params={"id_student": 0})
    ).status_code == 422
