"""/api/v1/districts: scoped lists, IDOR, rights per role, audit rows, validation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, Program, SchoolDistrict
from tests.districts import support
from tests.districts.support import World
from tests.fixtures.statements import count_statements

URL = "/api/v1/districts"


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return support.build(database, settings)


def ids(response_json: dict[str, object]) -> list[int]:
    items = response_json["items"]
    assert isinstance(items, list)
    return [item["id_school_district"] for item in items]


def test_lists_hold_exactly_the_districts_in_scope(
    client: TestClient, settings: Settings, world: World
) -> None:
    expected = {
        support.DISTRICT_ADMIN: [world.district_a],
        support.COORDINATOR: [world.district_a],
        support.AUDITOR: [world.district_a],
        support.CASE_MANAGER: [],
        support.SYSTEM_ADMIN: [world.district_a, world.district_b],
    }
    for name, districts in expected.items():
        headers = support.demo_headers(client, settings, name)
        response = client.get(URL, headers=headers)
        assert response.status_code == 200, (name, response.text)
        assert ids(response.json()) == districts, name
    response = client.get(URL, headers=support.b_headers(client))
    assert ids(response.json()) == [world.district_b]


def test_district_admin_gets_404_for_another_district(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    before = support.snapshot(database, SchoolDistrict)
    target = f"{URL}/{world.district_b}"
    assert client.get(target, headers=headers).status_code == 404
    assert client.patch(target, json={"name": "Taken"}, headers=headers).status_code == 404
    assert client.delete(target, headers=headers).status_code == 404
    assert support.snapshot(database, SchoolDistrict) == before
    # Each refusal is on the trail as a denial, not as a change.
    with database.session_scope() as session:
        denials = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.resource == "school_district",
                AuditEvent.outcome == "denied",
                AuditEvent.record_id == str(world.district_b),
            )
        ).all()
    assert sorted(denials) == ["delete", "read", "update"]
    assert support.audit_rows(database, "school_district") == []
    # The same district is reachable for its own administrator.
    own = client.get(target, headers=support.b_headers(client))
    assert own.status_code == 200
    assert own.json()["name"] == "Northgate County Schools"


def test_system_admin_creates_a_district_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    response = client.post(
        URL,
        json={"name": "  Eastbrook Schools ", "contact_email": " Office@EastBrook.Example "},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Eastbrook Schools"
    assert body["contact_email"] == "office@eastbrook.example"
    assert body["created_at"] is not None
    rows = support.audit_rows(database, "school_district", action="create")
    assert len(rows) == 1
    assert rows[0].record_id == str(body["id_school_district"])
    assert support.fields_of(rows[0]) == ["contact_email", "country_code", "name", "time_zone"]
    # A new district's pages show Eastern time and US dates until it says otherwise.
    assert (body["time_zone"], body["country_code"]) == ("America/New_York", "US")
    assert "Eastbrook" not in (rows[0].details or "")
    assert client.get(f"{URL}/{body['id_school_district']}", headers=headers).status_code == 200


def test_only_global_holders_create_districts(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    for name in (support.DISTRICT_ADMIN, support.CASE_MANAGER, support.AUDITOR):
        headers = support.demo_headers(client, settings, name)
        response = client.post(URL, json={"name": "Shadow District"}, headers=headers)
        assert response.status_code == 403, name
    assert support.count(database, SchoolDistrict) == 2
    assert support.audit_rows(database, "school_district") == []


def test_district_admin_updates_own_district_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    response = client.patch(
        f"{URL}/{world.district_a}",
        json={"name": "Riverbend USD", "contact_email": "Front.Desk@riverbend-usd.example"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Riverbend USD"
    assert response.json()["contact_email"] == "front.desk@riverbend-usd.example"
    rows = support.audit_rows(database, "school_district", action="update")
    assert len(rows) == 1
    assert rows[0].record_id == str(world.district_a)
    assert support.fields_of(rows[0]) == ["contact_email", "name"]

    # Clearing the address is a change of that one field.
    response = client.patch(
        f"{URL}/{world.district_a}", json={"contact_email": None}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["contact_email"] is None
    rows = support.audit_rows(database, "school_district", action="update")
    assert [support.fields_of(row) for row in rows] == [
        ["contact_email", "name"],
        ["contact_email"],
    ]


def test_roles_that_only_read_get_403_and_those_that_cannot_read_get_404(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    before = support.snapshot(database, SchoolDistrict)
    target = f"{URL}/{world.district_a}"
    coordinator = support.demo_headers(client, settings, support.COORDINATOR)
    assert client.get(target, headers=coordinator).status_code == 200
    assert client.patch(target, json={"name": "X"}, headers=coordinator).status_code == 403
    assert client.delete(target, headers=coordinator).status_code == 403
    case_manager = support.demo_headers(client, settings, support.CASE_MANAGER)
    assert client.get(target, headers=case_manager).status_code == 404
    assert client.patch(target, json={"name": "X"}, headers=case_manager).status_code == 404
    assert client.delete(target, headers=case_manager).status_code == 404
    # A district administrator reads and updates, but deleting is a global right.
    admin = support.demo_headers(client, settings, support.DISTRICT_ADMIN)
    assert client.delete(target, headers=admin).status_code == 403
    assert support.snapshot(database, SchoolDistrict) == before
    assert support.audit_rows(database, "school_district") == []


def test_a_district_with_programs_is_not_deleted(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    districts = support.snapshot(database, SchoolDistrict)
    programs = support.snapshot(database, Program)
    response = client.delete(f"{URL}/{world.district_b}", headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "2 program(s)" in response.json()["detail"]
    assert support.snapshot(database, SchoolDistrict) == districts
    assert support.snapshot(database, Program) == programs
    assert support.audit_rows(database, "school_district") == []


def test_an_empty_district_is_deleted_with_one_audit_row(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    created = client.post(URL, json={"name": "Short-lived District"}, headers=headers).json()
    target = f"{URL}/{created['id_school_district']}"
    assert client.delete(target, headers=headers).status_code == 204
    assert client.get(target, headers=headers).status_code == 404
    rows = support.audit_rows(database, "school_district", action="delete")
    assert len(rows) == 1
    assert rows[0].record_id == str(created["id_school_district"])
    assert support.fields_of(rows[0]) == ["contact_email", "name"]
    assert support.count(database, SchoolDistrict) == 2


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("post", {"name": "Ok", "id_school_district": 7}),
        ("post", {"name": "Ok", "created_at": "2020-01-01T00:00:00Z"}),
        ("post", {}),
        ("post", {"name": "   "}),
        ("post", {"name": "x" * 256}),
        ("post", {"name": "Nul\x00District"}),
        ("post", {"name": "Line\nbreak"}),
        ("post", {"name": 42}),
        ("post", {"name": "Ok", "contact_email": "not-an-address"}),
        ("post", {"name": "Ok", "contact_email": "a@" + "b" * 260 + ".example"}),
        ("patch", {"name": None}),
        ("patch", {"nickname": "Ok"}),
        ("patch", {"contact_email": 7}),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(
    client: TestClient,
    database: Database,
    settings: Settings,
    world: World,
    method: str,
    body: dict[str, object],
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    before = support.snapshot(database, SchoolDistrict)
    url = URL if method == "post" else f"{URL}/{world.district_a}"
    response = getattr(client, method)(url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    assert support.snapshot(database, SchoolDistrict) == before
    assert support.audit_rows(database, "school_district") == []


def test_out_of_range_ids_are_422(client: TestClient, settings: Settings, world: World) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    assert client.get(f"{URL}/{2**31}", headers=headers).status_code == 422
    assert client.get(f"{URL}/0", headers=headers).status_code == 422
    assert client.get(f"{URL}/{2**31 - 1}", headers=headers).status_code == 404


def test_pages_walk_every_district_once(
    client: TestClient, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    for name in ("Third District", "Fourth District"):
        assert client.post(URL, json={"name": name}, headers=headers).status_code == 201
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = client.get(URL, params=params, headers=headers).json()
        seen.extend(ids(body))
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == 4
    assert seen == sorted(seen)
    assert seen[:2] == [world.district_a, world.district_b]
    bad = client.get(URL, params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422


def test_list_statement_count_does_not_grow_with_the_page(
    client: TestClient, database: Database, settings: Settings, world: World
) -> None:
    headers = support.demo_headers(client, settings, support.SYSTEM_ADMIN)
    client.get(URL, headers=headers)
    counts = {}
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get(URL, params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        counts[limit] = log.count
    assert len(client.get(URL, params={"limit": 50}, headers=headers).json()["items"]) == 2
    assert counts[1] == counts[50]
