"""Two districts probing each other (SPEC section 11), and what the audit trail shows
to readers who may not see the records it is about."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from goalpath.config import Settings
from goalpath.db import Database
from tests.fixtures import demo
from tests.fixtures.factories import make_user
from tests.health_notes.support import headers_for, shared_student
from tests.student_access.support import OtherDistrict, other_district, sign_in_other

API = "/api/v1"


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def hillcrest(database: Database, settings: Settings, staff: demo.DemoStaff) -> OtherDistrict:
    return other_district(database, settings)


def listed_users(client: TestClient, headers: dict[str, str]) -> set[int]:
    answer = client.get(f"{API}/users", params={"limit": 200}, headers=headers)
    assert answer.status_code == 200
    return {item["id_user"] for item in answer.json()["items"]}


def test_another_districts_new_account_cannot_be_reached_or_taken_over(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    hillcrest: OtherDistrict,
) -> None:
    """Hillcrest's administrator creates an account (at home in Hillcrest, in no program
    yet); Riverbend's administrator can neither find it nor change its email to take it
    over by a reset."""
    theirs = sign_in_other(client, hillcrest.admin_email)
    created = client.post(
        f"{API}/users",
        json={
            "email": "new.teacher@hillcrest.example",
            "name": "New Teacher",
            "id_role": next(
                role["id_role"]
                for role in client.get(f"{API}/roles", headers=theirs).json()["items"]
                if role["name"] == "case_manager"
            ),
            "password": "lantern-harbor-quietly-2931",
        },
        headers=theirs,
    )
    assert created.status_code == 201, created.text
    newcomer = created.json()
    assert newcomer["id_school_district_home"] == hillcrest.id_school_district
    assert newcomer["id_user"] in listed_users(client, theirs)

    ours = headers_for(client, settings, staff, "district_admin")
    assert newcomer["id_user"] not in listed_users(client, ours)
    url = f"{API}/users/{newcomer['id_user']}"
    attempts = [
        client.get(url, headers=ours),
        client.patch(url, json={"email": "takeover@riverbend-usd.example"}, headers=ours),
        client.post(f"{url}/unlock", headers=ours),
        client.post(f"{url}/deactivate", headers=ours),
        client.delete(f"{url}/sessions", headers=ours),
    ]
    assert [answer.status_code for answer in attempts] == [404] * 5
    assert client.get(url, headers=theirs).json()["email"] == "new.teacher@hillcrest.example"
    # An account created by no district (a factory, like an import gone wrong) is in
    # nobody's district scope either.
    stray = make_user(database, settings, email="stray@nowhere.example", name="Stray Account")
    assert stray not in listed_users(client, ours) | listed_users(client, theirs)


def audit_resources(client: TestClient, headers: dict[str, str], **params: Any) -> set[str]:
    answer = client.get(f"{API}/audit-events", params={"limit": 200, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["resource"] for item in answer.json()["items"]}


def test_audit_rows_about_health_notes_and_sensitive_events_need_their_right(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff.first("counselor"))
    counselor = headers_for(client, settings, staff, "counselor")
    note = client.post(
        f"{API}/students/{id_student}/health-notes",
        json={"content": "Takes an inhaler before physical education."},
        headers=counselor,
    )
    assert note.status_code == 201, note.text
    assert (
        client.get(
            f"{API}/health-notes/{note.json()['id_health_note']}", headers=counselor
        ).status_code
        == 200
    )
    event = client.post(
        f"{API}/students/{id_student}/progress-events",
        json={"content": "Spoke about a worry at home.", "is_sensitive": True},
        headers=counselor,
    )
    assert event.status_code == 201, event.text

    root = headers_for(client, settings, staff, "system_admin")
    seen_by_root = audit_resources(client, root, id_student=id_student)
    assert {"health_note", "progress_event"} <= seen_by_root
    for role in ("district_admin", "auditor"):
        reader = headers_for(client, settings, staff, role)
        seen = audit_resources(client, reader, id_student=id_student)
        assert "health_note" not in seen, role
        answer = client.get(
            f"{API}/audit-events",
            params={"limit": 200, "id_student": id_student, "resource": "progress_event"},
            headers=reader,
        ).json()["items"]
        assert str(event.json()["id_progress_event"]) not in {
            item["record_id"] for item in answer
        }, role
