"""Goals: create, read, move and delete in a student's goal tree, with ETags, access by
assignment and fixed statement counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import AuditEvent, Goal, ProgressEvent, ProgressReport, Student, UserStudent
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.students.support import (
    caseload,
    demo_programs,
    make_goals,
    make_student,
    sign_in,
)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def goals_url(id_student: int) -> str:
    return f"/api/v1/students/{id_student}/goals"


def goal_url(id_goal: int) -> str:
    return f"/api/v1/goals/{id_goal}"


def my_student(database: Database, staff: demo.DemoStaff) -> int:
    return min(caseload(database, staff.first("case_manager")))


def create(
    client: TestClient, headers: dict[str, str], id_student: int, **body: object
) -> dict[str, Any]:
    response = client.post(goals_url(id_student), json={"title": "Goal", **body}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["ETag"]
    created: dict[str, Any] = response.json()
    return created


def test_create_read_and_nest(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    id_student = my_student(database, staff)
    root = create(client, headers, id_student, title="  Read fluently  ", category="Reading")
    assert root["title"] == "Read fluently"
    assert root["id_user_created"] == staff.first("case_manager")
    child = create(client, headers, id_student, title="Decode", id_goal_parent=root["id_goal"])
    grandchild = create(client, headers, id_student, title="Blend", id_goal_parent=child["id_goal"])

    got = client.get(goal_url(child["id_goal"]), headers=headers)
    assert got.status_code == 200
    assert got.json()["id_goal_parent"] == root["id_goal"]
    assert got.headers["ETag"]

    tree = client.get(goals_url(id_student) + "?tree=true", headers=headers)
    assert tree.status_code == 200
    assert tree.headers["content-type"] == "application/json"
    body = tree.json()
    assert body["next_cursor"] is None
    node = next(item for item in body["items"] if item["id_goal"] == root["id_goal"])
    assert node["category"] == "Reading"
    assert [c["id_goal"] for c in node["children"]] == [child["id_goal"]]
    assert node["children"][0]["children"][0]["id_goal"] == grandchild["id_goal"]
    assert node["children"][0]["children"][0]["children"] == []
    # Every goal appears exactly once, as in the flat list.
    flat = client.get(goals_url(id_student) + "?limit=200", headers=headers).json()["items"]
    stack, seen = list(body["items"]), []
    while stack:
        item = stack.pop()
        seen.append(item["id_goal"])
        stack.extend(item["children"])
    assert sorted(seen) == [item["id_goal"] for item in flat]

    with database.session_scope() as session:
        details = session.scalar(
            select(AuditEvent.details).where(
                AuditEvent.action == "create",
                AuditEvent.resource == "goal",
                AuditEvent.record_id == str(root["id_goal"]),
            )
        )
    assert details == '{"fields": ["category", "title"]}'


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 256},
        {"title": "ok", "category": "c" * 101},
        {"title": "ok", "id_student": 1},
        {"title": "ok", "id_goal_parent": "1"},
        {"title": 5},
        {"description": "no title"},
    ],
)
def test_invalid_goals_are_refused(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    body: dict[str, object],
) -> None:
    headers = sign_in(client, settings, "case_manager")
    id_student = my_student(database, staff)
    with database.session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Goal))
    response = client.post(goals_url(id_student), json=body, headers=headers)
    assert response.status_code == 422, response.text
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Goal)) == before


def test_parent_of_another_student_is_refused(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    mine = sorted(caseload(database, staff.first("case_manager")))
    other_student_goal = create(client, headers, mine[1], title="Other student's goal")
    response = client.post(
        goals_url(mine[0]),
        json={"title": "Sub", "id_goal_parent": other_student_goal["id_goal"]},
        headers=headers,
    )
    assert response.status_code == 422
    assert (
        "same student" in response.json()["detail"] or "this student" in (response.json()["detail"])
    )
    assert response.json()["errors"][0]["field"] == "id_goal_parent"

    goal = create(client, headers, mine[0], title="Mine")
    moved = client.patch(
        goal_url(goal["id_goal"]),
        json={"id_goal_parent": other_student_goal["id_goal"]},
        headers=headers,
    )
    assert moved.status_code == 422
    assert "another student" in moved.json()["detail"]
    with database.session_scope() as session:
        assert (
            session.scalar(select(Goal.id_goal_parent).where(Goal.id_goal == goal["id_goal"]))
            is None
        )


def test_cycles_are_refused(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    id_student = my_student(database, staff)
    a = create(client, headers, id_student, title="A")
    b = create(client, headers, id_student, title="B", id_goal_parent=a["id_goal"])
    c = create(client, headers, id_student, title="C", id_goal_parent=b["id_goal"])
    a_url = goal_url(a["id_goal"])

    itself = client.patch(a_url, json={"id_goal_parent": a["id_goal"]}, headers=headers)
    assert itself.status_code == 422
    assert "own parent" in itself.json()["detail"]
    for descendant in (b, c):
        refused = client.patch(
            a_url, json={"id_goal_parent": descendant["id_goal"]}, headers=headers
        )
        assert refused.status_code == 409
        assert "cycle" in refused.json()["detail"]

    # Moving C up to the root, then A under C, is a legal rearrangement.
    c_url = goal_url(c["id_goal"])
    to_root = client.patch(c_url, json={"id_goal_parent": None}, headers=headers)
    assert to_root.status_code == 200
    assert to_root.json()["id_goal_parent"] is None
    under = client.patch(a_url, json={"id_goal_parent": c["id_goal"]}, headers=headers)
    assert under.status_code == 200
    assert under.json()["id_goal_parent"] == c["id_goal"]
    with database.session_scope() as session:
        parents = dict(
            session.execute(
                select(Goal.id_goal, Goal.id_goal_parent).where(
                    Goal.id_goal.in_([a["id_goal"], b["id_goal"], c["id_goal"]])
                )
            ).all()
        )
    assert parents == {c["id_goal"]: None, a["id_goal"]: c["id_goal"], b["id_goal"]: a["id_goal"]}


def test_delete_refuses_goals_with_records(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    headers = sign_in(client, settings, "case_manager")
    id_student = my_student(database, staff)
    parent = create(client, headers, id_student, title="Parent")
    child = create(client, headers, id_student, title="Child", id_goal_parent=parent["id_goal"])
    with_event = create(client, headers, id_student, title="Logged")
    with_report = create(client, headers, id_student, title="Reported")
    with database.session_scope() as session:
        session.add(
            ProgressEvent(id_student=id_student, id_goal=with_event["id_goal"], content="3 of 5")
        )
        session.add(
            ProgressReport(
                id_student=id_student, id_goal=with_report["id_goal"], period="Q1", year=2026
            )
        )

    for goal, kind in (
        (parent, "sub-goals"),
        (with_event, "progress events"),
        (with_report, "progress reports"),
    ):
        refused = client.delete(goal_url(goal["id_goal"]), headers=headers)
        assert refused.status_code == 409
        assert kind in refused.json()["detail"]
    assert client.delete(goal_url(child["id_goal"]), headers=headers).status_code == 204
    assert client.delete(goal_url(parent["id_goal"]), headers=headers).status_code == 204
    assert client.get(goal_url(parent["id_goal"]), headers=headers).status_code == 404
    with database.session_scope() as session:
        remaining = set(
            session.scalars(
                select(Goal.id_goal).where(
                    Goal.id_goal.in_(
                        [g["id_goal"] for g in (parent, child, with_event, with_report)]
                    )
                )
            )
        )
        deletes = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "delete", AuditEvent.resource == "goal")
        )
    assert remaining == {with_event["id_goal"], with_report["id_goal"]}
    assert deletes == 2


def test_lost_update_is_refused(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    alice = sign_in(client, settings, "case_manager")
    bob = sign_in(client, settings, "program_coordinator")
    id_student = my_student(database, staff)
    goal = create(client, alice, id_student, title="Original")
    url = goal_url(goal["id_goal"])
    etag_alice = client.get(url, headers=alice).headers["ETag"]
    etag_bob = client.get(url, headers=bob).headers["ETag"]
    assert etag_alice == etag_bob

    # Both land in the same clock tick: the ETag must change all the same.
    first = client.patch(url, json={"title": "Alice's"}, headers={**alice, "If-Match": etag_alice})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] != etag_alice
    second = client.patch(url, json={"title": "Bob's"}, headers={**bob, "If-Match": etag_bob})
    assert second.status_code == 412
    assert second.headers["content-type"].startswith("application/problem+json")

    current = client.get(url, headers=bob)
    assert current.json()["title"] == "Alice's"
    assert current.headers["ETag"] == first.headers["ETag"]
    retried = client.patch(
        url, json={"title": "Bob's"}, headers={**bob, "If-Match": current.headers["ETag"]}
    )
    assert retried.status_code == 200
    assert retried.json()["title"] == "Bob's"
    with database.session_scope() as session:
        updates = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "update", AuditEvent.record_id == str(goal["id_goal"])
            )
        ).all()
    assert updates == ['{"fields": ["title"]}', '{"fields": ["title"]}']


def test_patch_sets_updated_at(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    headers = sign_in(client, settings, "case_manager")
    goal = create(client, headers, my_student(database, staff), title="T")
    clock.advance(minutes=5)
    changed = client.patch(goal_url(goal["id_goal"]), json={"description": "More"}, headers=headers)
    assert changed.status_code == 200
    assert changed.json()["updated_at"] > str(goal["updated_at"])
    assert changed.json()["created_at"] == goal["created_at"]
    assert changed.json()["description"] == "More"


def test_read_only_assignment_reads_goals_but_cannot_write(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_user = staff.first("case_manager")
    id_student = my_student(database, staff)
    with database.session_scope() as session:
        link = session.scalars(
            select(UserStudent).where(
                UserStudent.id_user == id_user, UserStudent.id_student == id_student
            )
        ).one()
        link.access_level = "read"
        id_goal = session.scalar(select(Goal.id_goal).where(Goal.id_student == id_student))
    assert id_goal is not None
    headers = sign_in(client, settings, "case_manager")
    listed = client.get(goals_url(id_student), headers=headers)
    assert listed.status_code == 200
    assert listed.json()["items"]
    assert client.get(goals_url(id_student) + "?tree=true", headers=headers).status_code == 200
    assert client.get(goal_url(id_goal), headers=headers).status_code == 200
    assert (
        client.post(goals_url(id_student), json={"title": "X"}, headers=headers).status_code == 403
    )
    assert client.patch(goal_url(id_goal), json={"title": "X"}, headers=headers).status_code == 403
    assert client.delete(goal_url(id_goal), headers=headers).status_code == 403

    with database.session_scope() as session:
        outside = session.scalar(
            select(func.min(Student.id_student)).where(
                Student.id_student.not_in(caseload(database, id_user))
            )
        )
        outside_goal = session.scalar(select(Goal.id_goal).where(Goal.id_student == outside))
    assert outside is not None and outside_goal is not None
    assert client.get(goals_url(outside), headers=headers).status_code == 404
    assert client.get(goals_url(outside) + "?tree=true", headers=headers).status_code == 404
    assert client.post(goals_url(outside), json={"title": "X"}, headers=headers).status_code == 404
    assert client.get(goal_url(outside_goal), headers=headers).status_code == 404
    assert (
        client.patch(goal_url(outside_goal), json={"title": "X"}, headers=headers).status_code
        == 404
    )
    nurse = sign_in(client, settings, "nurse")
    assert client.get(goals_url(id_student), headers=nurse).status_code == 403


def test_flat_list_pages_by_id(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_student = make_student(database, demo_programs(database)[0], "RUSD-PAGES")
    ids = make_goals(database, id_student, 12)
    headers = sign_in(client, settings, "district_admin")
    got: list[int] = []
    cursor = None
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(goals_url(id_student) + query, headers=headers).json()
        got.extend(item["id_goal"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert got == ids


def test_statement_counts_are_fixed(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    program = demo_programs(database)[0]
    small = make_student(database, program, "RUSD-SMALL")
    large = make_student(database, program, "RUSD-LARGE")
    make_goals(database, small, 3)
    make_goals(database, large, 30, chain=True)
    headers = sign_in(client, settings, "district_admin")

    def statements(url: str) -> int:
        with count_statements(database.engine) as log:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return log.count

    assert statements(goals_url(large) + "?limit=1") == statements(goals_url(large) + "?limit=50")
    assert statements(goals_url(small) + "?tree=true") == statements(
        goals_url(large) + "?tree=true"
    )


def test_openapi_describes_the_tree_recursively(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    node = document["components"]["schemas"]["GoalNode"]
    assert node["properties"]["children"]["items"]["$ref"] == "#/components/schemas/GoalNode"
    operation = document["paths"]["/api/v1/goals/{id_goal}"]["patch"]
    assert {"200", "401", "403", "404", "409", "412", "422"} <= set(operation["responses"])
    listing = document["paths"]["/api/v1/students/{id_student}/goals"]["get"]
    schema = json.dumps(listing["responses"]["200"])
    assert "GoalTree" in schema
    assert "Page_Goal_" in schema
