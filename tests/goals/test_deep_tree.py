"""A 1,000-deep chain of goals comes back whole, and moves stay cycle-free, on every
backend: the tree is one query assembled in Python, written out without recursion."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Goal, Program, SchoolDistrict, Student
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.students.support import deep_json, make_goals

DEPTH = 1000


def test_a_thousand_deep_chain_comes_back_whole(
    client: TestClient, database: Database, settings: Settings
) -> None:
    with database.session_scope() as session:
        district = SchoolDistrict(name="Deep Valley Schools", contact_email="office@deep.example")
        session.add(district)
        session.flush()
        program = Program(id_school_district=district.id_school_district, name="Resource")
        session.add(program)
        session.flush()
        student = Student(id_program=program.id_program, identifier="DV-1")
        session.add(student)
        session.flush()
        id_student = student.id_student
    chain = make_goals(database, id_student, DEPTH, chain=True)
    make_user(database, settings, email="root@deep.example", name="Root Admin", role="system_admin")
    token = client.post(
        "/api/v1/auth/login", json={"email": "root@deep.example", "password": DEFAULT_PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    response = client.get(f"/api/v1/students/{id_student}/goals?tree=true", headers=headers)
    assert response.status_code == 200
    with deep_json():
        body = json.loads(response.content)
    assert len(body["items"]) == 1
    walked: list[int] = []
    node = body["items"][0]
    while True:
        walked.append(node["id_goal"])
        if not node["children"]:
            break
        assert len(node["children"]) == 1
        assert node["children"][0]["id_goal_parent"] == node["id_goal"]
        node = node["children"][0]
    assert walked == chain

    # The root cannot go under its deepest descendant; the deepest goal can become a root.
    refused = client.patch(
        f"/api/v1/goals/{chain[0]}", json={"id_goal_parent": chain[-1]}, headers=headers
    )
    assert refused.status_code == 409
    moved = client.patch(
        f"/api/v1/goals/{chain[-1]}", json={"id_goal_parent": None}, headers=headers
    )
    assert moved.status_code == 200
    with database.session_scope() as session:
        assert session.scalar(select(Goal.id_goal_parent).where(Goal.id_goal == chain[0])) is None
    again = client.get(f"/api/v1/students/{id_student}/goals?tree=true", headers=headers)
    with deep_json():
        roots = json.loads(again.content)["items"]
    assert [root["id_goal"] for root in roots] == [chain[0], chain[-1]]
