"""Creating, reading, listing and changing staff accounts through /api/v1/users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import PasswordHistory, User
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.users.helpers import (
    CASE_MANAGER,
    DISTRICT_ADMIN,
    GOOD_PASSWORD,
    SYSTEM_ADMIN,
    audit_rows,
    last_audit_id,
    role_id,
    second_district,
    sign_in,
    sign_in_demo,
)

OUTPUT_FIELDS = {
    "id_user",
    "id_role",
    "email",
    "name",
    "password_updated_at",
    "failed_login_attempts",
    "locked_until",
    "created_at",
    "deactivated_at",
    "id_school_district_home",
}


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def district_of(database: Database, name: str) -> int | None:
    with database.session_scope() as session:
        return session.scalar(
            select(User.id_school_district_home).where(User.email == demo_email(name))
        )


def new_account(id_role: int, **extra: object) -> dict[str, object]:
    return {
        "email": "Rosa.Delgado@Riverbend-USD.example",
        "name": "Rosa Delgado",
        "id_role": id_role,
        "password": GOOD_PASSWORD,
        **extra,
    }


def test_district_admin_creates_a_case_manager_who_appears_in_their_list(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    before = last_audit_id(database)
    response = client.post(
        "/api/v1/users", json=new_account(role_id(database, "case_manager")), headers=admin
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == OUTPUT_FIELDS
    assert created["email"] == "rosa.delgado@riverbend-usd.example"
    assert created["password_updated_at"] is not None
    assert created["deactivated_at"] is None
    # SPEC section 11: the account is at home in its creator's district.
    assert created["id_school_district_home"] == district_of(database, DISTRICT_ADMIN)

    rows = audit_rows(database, after=before)
    assert len(rows) == 1
    assert rows[0]["action"] == "create" and rows[0]["resource"] == "user"
    assert rows[0]["record_id"] == str(created["id_user"])
    assert rows[0]["id_user"] == staff.first("district_admin")
    assert rows[0]["details"]["fields"] == ["email", "id_role", "name", "password"]
    assert GOOD_PASSWORD not in str(rows[0]["details"])

    listed = client.get("/api/v1/users", params={"email_prefix": "rosa."}, headers=admin).json()
    assert [user["id_user"] for user in listed["items"]] == [created["id_user"]]
    assert client.get(f"/api/v1/users/{created['id_user']}", headers=admin).json() == created
    # The password given is the one that works, and it is in the history.
    assert sign_in(client, "rosa.delgado@riverbend-usd.example", GOOD_PASSWORD)
    with database.session_scope() as session:
        history = session.scalar(
            select(func.count())
            .select_from(PasswordHistory)
            .where(PasswordHistory.id_user == created["id_user"])
        )
    assert history == 1


def test_users_in_another_district_are_not_found(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    elsewhere = second_district(database, settings)
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    target = elsewhere.case_manager
    before = last_audit_id(database)
    assert client.get(f"/api/v1/users/{target}", headers=admin).status_code == 404
    assert (
        client.patch(f"/api/v1/users/{target}", json={"name": "X Y"}, headers=admin).status_code
        == 404
    )
    assert client.post(f"/api/v1/users/{target}/deactivate", headers=admin).status_code == 404
    assert client.post(f"/api/v1/users/{target}/unlock", headers=admin).status_code == 404
    denied = audit_rows(database, after=before, outcome="denied")
    assert len(denied) == 4
    assert {row["details"]["reason"] for row in denied} == {"not_found_or_out_of_scope"}

    listed = client.get("/api/v1/users", params={"limit": 200}, headers=admin).json()
    ids = {user["id_user"] for user in listed["items"]}
    assert target not in ids and elsewhere.admin not in ids
    assert staff.first("case_manager") in ids
    # And the other way round: district B's administrator sees none of district A's staff.
    other_admin = sign_in(client, "noor.haddad@northfield.example")
    assert (
        client.get(f"/api/v1/users/{staff.first('case_manager')}", headers=other_admin).status_code
        == 404
    )
    assert client.get(f"/api/v1/users/{target}", headers=other_admin).status_code == 200


def test_case_manager_reads_colleagues_but_creates_nobody(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    case_manager = sign_in_demo(client, settings, CASE_MANAGER)
    listed = client.get("/api/v1/users", params={"limit": 200}, headers=case_manager).json()
    ids = {user["id_user"] for user in listed["items"]}
    me = staff.by_email[demo_email(CASE_MANAGER)]
    colleague = staff.by_email[demo_email("Jordan Blake")]  # same program
    outsider = staff.by_email[demo_email("Kenji Watanabe")]  # another program
    assert {me, colleague} <= ids
    assert outsider not in ids
    assert client.get(f"/api/v1/users/{outsider}", headers=case_manager).status_code == 404
    assert (
        client.patch(
            f"/api/v1/users/{colleague}", json={"name": "Jordan B"}, headers=case_manager
        ).status_code
        == 403
    )
    before = last_audit_id(database)
    response = client.post(
        "/api/v1/users", json=new_account(role_id(database, "case_manager")), headers=case_manager
    )
    assert response.status_code == 403
    assert [row["outcome"] for row in audit_rows(database, after=before)] == ["denied"]
    # Everyone may change their own name.
    renamed = client.patch(f"/api/v1/users/{me}", json={"name": "Elena C."}, headers=case_manager)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Elena C."


def test_password_policy_applies_on_create(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    case_manager = role_id(database, "case_manager")
    short = client.post(
        "/api/v1/users", json=new_account(case_manager, password="too-short"), headers=admin
    )
    assert short.status_code == 422
    assert short.headers["content-type"] == "application/problem+json"
    assert [error["code"] for error in short.json()["errors"]] == ["min_length"]
    assert "15" in short.json()["errors"][0]["message"]
    own_name = client.post(
        "/api/v1/users",
        json=new_account(case_manager, password="rosa-delgado-was-here-2026"),
        headers=admin,
    )
    assert own_name.status_code == 422
    assert "context" in {error["code"] for error in own_name.json()["errors"]}
    with database.session_scope() as session:
        assert session.scalar(select(User).where(User.email.like("rosa%"))) is None


@pytest.mark.parametrize(
    "body",
    [
        {"password_hash": "x"},
        {"deactivated_at": None},
        {"failed_login_attempts": 0},
        {"id_role": "3"},
        {"id_role": None},
    ],
)
def test_unknown_or_mistyped_fields_are_refused(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    body: dict[str, object],
) -> None:
    admin = sign_in_demo(client, settings, SYSTEM_ADMIN)
    case_manager = role_id(database, "case_manager")
    create = client.post("/api/v1/users", json={**new_account(case_manager), **body}, headers=admin)
    assert create.status_code == 422, create.text
    target = staff.first("case_manager")
    update = client.patch(f"/api/v1/users/{target}", json=body, headers=admin)
    assert update.status_code == 422, update.text
    with database.session_scope() as session:
        assert session.scalar(select(User).where(User.email.like("rosa%"))) is None


def test_unknown_role_is_refused(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, SYSTEM_ADMIN)
    response = client.post("/api/v1/users", json=new_account(999_999), headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "id_role"


def test_email_is_unique_whatever_its_case(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, SYSTEM_ADMIN)
    case_manager = role_id(database, "case_manager")
    taken = demo_email(CASE_MANAGER).upper()
    assert (
        client.post(
            "/api/v1/users", json=new_account(case_manager, email=taken), headers=admin
        ).status_code
        == 409
    )
    target = staff.by_email[demo_email("Jordan Blake")]
    before = last_audit_id(database)
    clash = client.patch(f"/api/v1/users/{target}", json={"email": taken}, headers=admin)
    assert clash.status_code == 409
    assert audit_rows(database, after=before) == []
    moved = client.patch(
        f"/api/v1/users/{target}", json={"email": "  J.Blake@Riverbend-USD.example "}, headers=admin
    )
    assert moved.status_code == 200
    assert moved.json()["email"] == "j.blake@riverbend-usd.example"
    rows = audit_rows(database, after=before)
    assert len(rows) == 1 and rows[0]["details"]["fields"] == ["email"]
    bad = client.patch(f"/api/v1/users/{target}", json={"email": "not-an-email"}, headers=admin)
    assert bad.status_code == 422


def test_every_change_leaves_exactly_one_audit_row(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    case_manager = role_id(database, "case_manager")
    auditor = role_id(database, "auditor")

    def one_row(expected_action: str) -> dict[str, object]:
        rows = audit_rows(database, after=mark)
        assert len(rows) == 1, rows
        assert rows[0]["action"] == expected_action and rows[0]["outcome"] == "allowed"
        return rows[0]

    mark = last_audit_id(database)
    created = client.post("/api/v1/users", json=new_account(case_manager), headers=admin).json()
    id_user = created["id_user"]
    one_row("create")

    mark = last_audit_id(database)
    changed = client.patch(
        f"/api/v1/users/{id_user}", json={"name": "Rosa D.", "id_role": auditor}, headers=admin
    )
    assert changed.status_code == 200 and changed.json()["id_role"] == auditor
    assert one_row("update")["details"] == {"fields": ["id_role", "name"]}

    mark = last_audit_id(database)
    assert client.post(f"/api/v1/users/{id_user}/deactivate", headers=admin).status_code == 200
    one_row("deactivate")

    mark = last_audit_id(database)
    assert client.post(f"/api/v1/users/{id_user}/reactivate", headers=admin).status_code == 200
    one_row("reactivate")

    mark = last_audit_id(database)
    assert client.post(f"/api/v1/users/{id_user}/unlock", headers=admin).status_code == 204
    one_row("account.unlocked")

    mark = last_audit_id(database)
    assert client.delete(f"/api/v1/users/{id_user}/sessions", headers=admin).status_code == 204
    one_row("sessions.ended")


def test_accounts_are_never_deleted(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    target = staff.first("case_manager")
    system_admin = sign_in_demo(client, settings, SYSTEM_ADMIN)
    refused = client.delete(f"/api/v1/users/{target}", headers=system_admin)
    assert refused.status_code == 409
    assert "deactivate" in refused.json()["detail"]
    # The district administrator has no delete right on accounts at all.
    district_admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    assert client.delete(f"/api/v1/users/{target}", headers=district_admin).status_code == 403
    assert client.delete("/api/v1/users/999999", headers=system_admin).status_code == 404
    with database.session_scope() as session:
        assert session.get(User, target) is not None


def test_list_filters_and_pages(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, SYSTEM_ADMIN)
    case_manager = role_id(database, "case_manager")
    by_role = client.get(
        "/api/v1/users", params={"id_role": case_manager, "limit": 200}, headers=admin
    ).json()["items"]
    assert {user["id_user"] for user in by_role} == set(staff.by_role["case_manager"])

    departed = staff.by_role["case_manager"][-1]
    assert client.post(f"/api/v1/users/{departed}/deactivate", headers=admin).status_code == 200
    inactive = client.get("/api/v1/users", params={"active": "false"}, headers=admin).json()
    assert [user["id_user"] for user in inactive["items"]] == [departed]
    active = client.get(
        "/api/v1/users", params={"active": "true", "limit": 200}, headers=admin
    ).json()["items"]
    assert departed not in {user["id_user"] for user in active}
    assert len(active) == len(staff.by_email) - 1

    # LIKE wildcards in the prefix are taken literally.
    wildcard = client.get("/api/v1/users", params={"email_prefix": "%"}, headers=admin).json()
    assert wildcard["items"] == []

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/users", params=params, headers=admin).json()
        seen.extend(user["id_user"] for user in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(staff.by_email.values())


def test_list_issues_the_same_statements_for_any_page_size(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    admin = sign_in_demo(client, settings, DISTRICT_ADMIN)
    counts = []
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get("/api/v1/users", params={"limit": limit}, headers=admin)
        assert response.status_code == 200
        # Every demo account but the system administrator's, which is in no district.
        assert len(response.json()["items"]) == min(limit, len(staff.by_email) - 1)
        counts.append(log.count)
    assert counts[0] == counts[1]
