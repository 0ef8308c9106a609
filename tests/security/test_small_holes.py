"""Small holes an outside review found: an invited account answering sign-in faster
than others, and `own` rights outliving a read-only assignment."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import UserStudent
from tests.fixtures import demo
from tests.fixtures.factories import make_user
from tests.fixtures.passwords import CountingPasswords
from tests.students.support import caseload, sign_in


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def test_an_invited_account_costs_a_hash_like_any_other(
    app: FastAPI, client: TestClient, database: Database, settings: Settings
) -> None:
    """An account with no password yet is checked against the dummy hash, so the
    answer takes as long as for a wrong password (no enumeration by timing)."""
    counting = CountingPasswords(settings)
    app.state.passwords = counting
    make_user(database, settings, email="invited@lakeside.example", password=None)
    make_user(database, settings, email="known@lakeside.example")
    answers = []
    for email in ("invited@lakeside.example", "known@lakeside.example", "nobody@lakeside.example"):
        before = counting.checks
        response = client.post(
            "/api/v1/auth/login", json={"email": email, "password": "a-guess-of-some-length"}
        )
        answers.append((response.status_code, response.json()["detail"], counting.checks - before))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 401 and answers[0][2] == 1


def test_a_read_only_assignment_makes_own_records_read_only(
    client: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    id_case_manager = staff.first("case_manager")
    id_student = min(caseload(database, id_case_manager))
    headers = sign_in(client, settings, "case_manager")
    created = client.post(
        f"/api/v1/students/{id_student}/progress-events",
        json={"content": "Read the passage aloud with two prompts."},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/progress-events/{created.json()['id_progress_event']}"
    assert client.patch(url, json={"content": "Edited."}, headers=headers).status_code == 200
    with database.session_scope() as session:
        session.execute(
            update(UserStudent)
            .where(UserStudent.id_user == id_case_manager, UserStudent.id_student == id_student)
            .values(access_level="read")
        )
    assert client.get(url, headers=headers).status_code == 200
    assert client.patch(url, json={"content": "Edited again."}, headers=headers).status_code == 403
    assert client.delete(url, headers=headers).status_code == 403
    assert client.get(url, headers=headers).json()["content"] == "Edited."
