"""/students/{id}/access: who is assigned to a student, and who may change that."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import User, UserStudent
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.student_access.support import (
    API,
    audit_rows,
    caseload,
    demo_headers,
    links_of_student,
    other_district,
    sign_in_other,
    students_of_program,
)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def headers_for(
    client: TestClient, settings: Settings, staff: demo.DemoStaff, role: str, index: int = 0
) -> dict[str, str]:
    return demo_headers(client, settings, staff, staff.by_role[role][index])


def test_list_shows_assignments_with_names_and_emails(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    id_student = caseload(database, id_case_manager)[0].id_student
    headers = headers_for(client, settings, staff, "case_manager")
    response = client.get(f"{API}/students/{id_student}/access", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = links_of_student(database, id_student)
    assert [item["id_user_student"] for item in body["items"]] == [row[0] for row in expected]
    mine = next(item for item in body["items"] if item["id_user"] == id_case_manager)
    assert mine["email"] == "elena.castillo@riverbend-usd.example"
    assert mine["name"] == "Elena Castillo"
    assert mine["access_level"] == "write"
    assert mine["is_primary"] is True
    assert mine["id_student"] == id_student
    assert set(mine) == {
        "id_user_student",
        "id_user",
        "id_student",
        "access_level",
        "is_primary",
        "name",
        "email",
    }
    assert body["next_cursor"] is None


def test_read_only_assignment_reads_but_cannot_assign(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    link = caseload(database, id_case_manager)[0]
    admin = headers_for(client, settings, staff, "district_admin")
    made_read_only = client.patch(
        f"{API}/students/{link.id_student}/access/{link.id_user_student}",
        headers=admin,
        json={"access_level": "read"},
    )
    assert made_read_only.status_code == 200, made_read_only.text
    assert made_read_only.json()["access_level"] == "read"

    case_manager = headers_for(client, settings, staff, "case_manager")
    listed = client.get(f"{API}/students/{link.id_student}/access", headers=case_manager)
    assert listed.status_code == 200
    levels = {item["id_user"]: item["access_level"] for item in listed.json()["items"]}
    assert levels[id_case_manager] == "read"

    peer = staff.by_role["case_manager"][1]
    before = links_of_student(database, link.id_student)
    refused = client.post(
        f"{API}/students/{link.id_student}/access",
        headers=case_manager,
        json={"id_user": peer},
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert links_of_student(database, link.id_student) == before
    changed = client.patch(
        f"{API}/students/{link.id_student}/access/{link.id_user_student}",
        headers=case_manager,
        json={"access_level": "write"},
    )
    assert changed.status_code == 403
    assert links_of_student(database, link.id_student) == before


def test_denied_create_leaves_a_denied_audit_row(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    id_student = caseload(database, id_case_manager)[0].id_student
    headers = headers_for(client, settings, staff, "case_manager")
    response = client.post(
        f"{API}/students/{id_student}/access",
        headers=headers,
        json={"id_user": staff.by_role["case_manager"][1]},
    )
    assert response.status_code == 403
    denied = audit_rows(database, outcome="denied", resource="student_access")
    assert [(row.action, row.id_user, row.id_student) for row in denied] == [
        ("create", id_case_manager, id_student)
    ]
    assert denied[0].ip


def test_revoking_takes_effect_on_the_next_request(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    link = caseload(database, id_case_manager)[0]
    case_manager = headers_for(client, settings, staff, "case_manager")
    coordinator = headers_for(client, settings, staff, "program_coordinator")
    url = f"{API}/students/{link.id_student}/access"
    assert client.get(url, headers=case_manager).status_code == 200
    assert (
        client.get(f"{API}/students/{link.id_student}/access-explanation", headers=case_manager)
    ).status_code == 200

    revoked = client.delete(f"{url}/{link.id_user_student}", headers=coordinator)
    assert revoked.status_code == 204

    assert client.get(url, headers=case_manager).status_code == 404
    assert (
        client.get(f"{API}/students/{link.id_student}/access-explanation", headers=case_manager)
    ).status_code == 404
    assert client.get(f"{url}/{link.id_user_student}", headers=coordinator).status_code == 404
    assert link.id_user_student not in [
        row[0] for row in links_of_student(database, link.id_student)
    ]
    deleted = audit_rows(database, action="delete", resource="student_access")
    assert len(deleted) == 1
    assert deleted[0].record_id == str(link.id_user_student)
    assert deleted[0].id_student == link.id_student
    assert deleted[0].outcome == "allowed"
    assert f'"id_user": {id_case_manager}' in (deleted[0].details or "")


def test_create_then_duplicate_is_a_conflict(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_peer = staff.by_role["case_manager"][1]
    assigned_to_peer = {link.id_student for link in caseload(database, id_peer)}
    id_student = next(
        link.id_student
        for link in caseload(database, staff.first("case_manager"))
        if link.id_student not in assigned_to_peer
    )
    coordinator = headers_for(client, settings, staff, "program_coordinator")
    url = f"{API}/students/{id_student}/access"
    created = client.post(
        url, headers=coordinator, json={"id_user": id_peer, "access_level": "read"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id_user"] == id_peer
    assert body["access_level"] == "read"
    assert body["is_primary"] is False
    assert body["name"] == "Jordan Blake"
    assert (body["id_user_student"], id_peer, "read") in links_of_student(database, id_student)
    again = client.post(url, headers=coordinator, json={"id_user": id_peer})
    assert again.status_code == 409
    created_rows = audit_rows(database, action="create", resource="student_access")
    assert len(created_rows) == 1
    assert created_rows[0].record_id == str(body["id_user_student"])
    assert created_rows[0].id_student == id_student

    fetched = client.get(f"{url}/{body['id_user_student']}", headers=coordinator)
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_assignment_must_belong_to_the_student_in_the_url(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    links = caseload(database, staff.first("case_manager"))
    first, second = links[0], links[1]
    coordinator = headers_for(client, settings, staff, "program_coordinator")
    wrong = f"{API}/students/{second.id_student}/access/{first.id_user_student}"
    assert client.get(wrong, headers=coordinator).status_code == 404
    assert client.patch(wrong, headers=coordinator, json={"is_primary": False}).status_code == 404
    assert client.delete(wrong, headers=coordinator).status_code == 404
    assert first.id_user_student in [row[0] for row in links_of_student(database, first.id_student)]


def test_patch_changes_only_what_is_sent_and_audits_field_names(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    link = caseload(database, staff.first("case_manager"))[0]
    coordinator = headers_for(client, settings, staff, "program_coordinator")
    url = f"{API}/students/{link.id_student}/access/{link.id_user_student}"
    response = client.patch(url, headers=coordinator, json={"is_primary": False})
    assert response.status_code == 200
    assert response.json()["is_primary"] is False
    assert response.json()["access_level"] == "write"
    updates = audit_rows(database, action="update", resource="student_access")
    assert len(updates) == 1
    assert '"fields": ["is_primary"]' in (updates[0].details or "")
    for bad in (
        {"access_level": None},
        {"access_level": "admin"},
        {"id_user": 3},
        {"is_primary": "yes"},
    ):
        refused = client.patch(url, headers=coordinator, json=bad)
        assert refused.status_code == 422, bad
    assert (link.id_user_student, link.id_user, "write") in links_of_student(
        database, link.id_student
    )


def test_nurse_reads_the_student_but_not_its_assignments(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_nurse = staff.first("nurse")
    id_student = students_of_program(database, id_nurse)[0]
    nurse = headers_for(client, settings, staff, "nurse")
    assert client.get(f"{API}/students/{id_student}/access", headers=nurse).status_code == 403
    explained = client.get(f"{API}/students/{id_student}/access-explanation", headers=nurse)
    assert explained.status_code == 200
    assert [reason["scope"] for reason in explained.json()["reasons"]] == ["program"]


def test_other_districts_admin_gets_404_everywhere(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    id_student = other.id_students[0]
    admin = headers_for(client, settings, staff, "district_admin")
    url = f"{API}/students/{id_student}/access"
    item = f"{url}/{other.id_user_student}"
    before = links_of_student(database, id_student)
    assert client.get(url, headers=admin).status_code == 404
    assert client.get(item, headers=admin).status_code == 404
    assert client.patch(item, headers=admin, json={"access_level": "read"}).status_code == 404
    assert client.delete(item, headers=admin).status_code == 404
    assigned = client.post(url, headers=admin, json={"id_user": staff.first("case_manager")})
    assert assigned.status_code == 404
    explained = client.get(f"{API}/students/{id_student}/access-explanation", headers=admin)
    assert explained.status_code == 404
    assert links_of_student(database, id_student) == before
    denied = audit_rows(database, outcome="denied", id_user=staff.first("district_admin"))
    assert len(denied) == 6

    # And the other way round: Hillcrest's administrator sees nothing of Riverbend.
    riverbend_link = caseload(database, staff.first("case_manager"))[0]
    hillcrest = sign_in_other(client, other.admin_email)
    assert (
        client.get(f"{API}/students/{riverbend_link.id_student}/access", headers=hillcrest)
    ).status_code == 404
    own = client.get(url, headers=hillcrest)
    assert own.status_code == 200
    assert [item["id_user"] for item in own.json()["items"]] == [other.id_case_manager]


def test_target_user_must_be_readable_by_the_actor(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    other = other_district(database, settings)
    id_student = caseload(database, staff.first("case_manager"))[0].id_student
    admin = headers_for(client, settings, staff, "district_admin")
    before = links_of_student(database, id_student)
    response = client.post(
        f"{API}/students/{id_student}/access",
        headers=admin,
        json={"id_user": other.id_case_manager},
    )
    assert response.status_code == 404
    assert links_of_student(database, id_student) == before


@pytest.mark.parametrize(
    "path",
    [
        "/students/2147483648/access",
        "/students/0/access",
        "/students/abc/access",
        "/students/1/access/99999999999",
        "/students/99999999999/access-explanation",
    ],
)
def test_bad_ids_are_422_not_500(
    client: TestClient, settings: Settings, staff: demo.DemoStaff, path: str
) -> None:
    admin = headers_for(client, settings, staff, "district_admin")
    assert client.get(f"{API}{path}", headers=admin).status_code == 422


def test_create_refuses_bad_bodies(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, staff.first("case_manager"))[0].id_student
    admin = headers_for(client, settings, staff, "district_admin")
    url = f"{API}/students/{id_student}/access"
    before = links_of_student(database, id_student)
    for body in (
        {},
        {"id_user": "5"},
        {"id_user": 2**31},
        {"id_user": staff.first("nurse"), "access_level": "owner"},
        {"id_user": staff.first("nurse"), "is_primary": 1},
        {"id_user": staff.first("nurse"), "id_student": id_student},
    ):
        assert client.post(url, headers=admin, json=body).status_code == 422, body
    assert links_of_student(database, id_student) == before
    assert client.get(url).status_code == 401


def test_pages_walk_every_assignment(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, staff.first("case_manager"))[0].id_student
    admin = headers_for(client, settings, staff, "district_admin")
    bulk = client.post(
        f"{API}/students/access/bulk",
        headers=admin,
        json={"id_user": staff.first("nurse"), "id_students": [id_student]},
    )
    assert bulk.status_code == 200
    client.post(
        f"{API}/students/{id_student}/access",
        headers=admin,
        json={"id_user": staff.by_role["program_coordinator"][0]},
    )
    expected = [row[0] for row in links_of_student(database, id_student)]
    assert len(expected) >= 3
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/students/{id_student}/access", headers=admin, params=params)
        assert page.status_code == 200
        seen += [item["id_user_student"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    for raw in ('["abc"]', "[99999999999999999999]", "[-1]", '[{"d": "2020-01-01"}]'):
        forged = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        refused = client.get(
            f"{API}/students/{id_student}/access", headers=admin, params={"cursor": forged}
        )
        assert refused.status_code == 422, raw


def test_list_statement_count_does_not_grow_with_the_page(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = caseload(database, staff.first("case_manager"))[0].id_student
    admin = headers_for(client, settings, staff, "district_admin")
    for role in ("nurse", "program_coordinator", "auditor"):
        client.post(
            f"{API}/students/{id_student}/access",
            headers=admin,
            json={"id_user": staff.first(role)},
        )
    with database.session_scope() as session:
        total = session.scalar(
            select(func.count())
            .select_from(UserStudent)
            .where(UserStudent.id_student == id_student)
        )
    assert total is not None and total >= 4
    url = f"{API}/students/{id_student}/access"
    with count_statements(database.engine) as one:
        small = client.get(url, headers=admin, params={"limit": 1})
    with count_statements(database.engine) as fifty:
        large = client.get(url, headers=admin, params={"limit": 50})
    assert len(small.json()["items"]) == 1
    assert len(large.json()["items"]) == total
    assert one.count == fifty.count


def test_deactivated_staff_cannot_be_assigned(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_peer = staff.by_role["case_manager"][1]
    with database.session_scope() as session:
        peer = session.get(User, id_peer)
        assert peer is not None
        peer.deactivated_at = datetime.now(UTC)
    id_student = caseload(database, staff.first("case_manager"))[0].id_student
    admin = headers_for(client, settings, staff, "district_admin")
    before = links_of_student(database, id_student)
    single = client.post(
        f"{API}/students/{id_student}/access", headers=admin, json={"id_user": id_peer}
    )
    assert single.status_code == 422
    assert single.json()["errors"][0]["field"] == "id_user"
    bulk = client.post(
        f"{API}/students/access/bulk",
        headers=admin,
        json={"id_user": id_peer, "id_students": [id_student]},
    )
    assert bulk.status_code == 422
    assert links_of_student(database, id_student) == before
