"""Read-decide-write rules hold when requests arrive at the same moment, on every
backend (SPEC sections 2 and 10): threads race a running server, as an attacker or two
busy colleagues would.

On SQLite a request that may write begins its transaction with the write lock held;
PostgreSQL and MariaDB lock the rows the rule reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import Goal, Student
from tests.fixtures import demo
from tests.fixtures.live import LiveServer, serve
from tests.students.support import caseload, demo_programs, sign_in

ROUNDS = 8


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def server(app: FastAPI, staff: demo.DemoStaff) -> Iterator[LiveServer]:
    with serve(app) as live:
        yield live


def race(server: LiveServer, requests: list[Callable[[httpx.Client], httpx.Response]]) -> list[int]:
    """Send the requests at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def run(index: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            barrier.wait()
            statuses[index] = requests[index](client).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def has_cycle(parents: dict[int, int | None]) -> bool:
    for start in parents:
        seen: set[int] = set()
        node: int | None = start
        while node is not None:
            if node in seen:
                return True
            seen.add(node)
            node = parents.get(node)
    return False


def test_two_crossed_moves_never_make_a_cycle(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    server: LiveServer,
) -> None:
    headers = sign_in(client, settings, "case_manager")
    id_student = min(caseload(database, staff.first("case_manager")))
    url = f"/api/v1/students/{id_student}/goals"
    for round_number in range(ROUNDS):
        a = client.post(url, json={"title": f"A{round_number}"}, headers=headers).json()
        b = client.post(url, json={"title": f"B{round_number}"}, headers=headers).json()

        def move(goal: dict[str, Any], under: dict[str, Any]) -> Callable[[httpx.Client], Any]:
            return lambda http: http.patch(
                f"/api/v1/goals/{goal['id_goal']}",
                json={"id_goal_parent": under["id_goal"]},
                headers=headers,
            )

        statuses = race(server, [move(a, b), move(b, a)])
        assert sorted(statuses) == [200, 409], statuses
        with database.session_scope() as session:
            parents: dict[int, int | None] = dict(
                session.execute(
                    select(Goal.id_goal, Goal.id_goal_parent).where(Goal.id_student == id_student)
                ).all()
            )
        assert not has_cycle(parents)
    # Every goal is still reachable in the tree the API answers.
    tree = client.get(url, params={"tree": "true"}, headers=headers)
    assert tree.status_code == 200

    def count(nodes: list[dict[str, Any]]) -> int:
        return sum(1 + count(node.get("children") or []) for node in nodes)

    assert count(tree.json()["items"]) == len(parents)


def test_one_identifier_created_twice_at_once_in_two_programs_is_one_student(
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    server: LiveServer,
) -> None:
    headers = sign_in(client, settings, "district_admin")
    first, second = demo_programs(database)[:2]
    for round_number in range(ROUNDS):
        identifier = f"RACE-{round_number:04d}"

        def create(id_program: int, spelling: str) -> Callable[[httpx.Client], Any]:
            return lambda http: http.post(
                "/api/v1/students",
                json={"id_program": id_program, "identifier": spelling},
                headers=headers,
            )

        statuses = race(server, [create(first, identifier), create(second, identifier.lower())])
        assert sorted(statuses) == [201, 409], statuses
        with database.session_scope() as session:
            copies = session.scalar(
                select(func.count())
                .select_from(Student)
                .where(func.lower(Student.identifier) == identifier.lower())
            )
        assert copies == 1
