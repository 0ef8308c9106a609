"""Schemathesis against the OpenAPI document, signed in as a district administrator of
the demo district: no input it generates may produce a 500 or an answer that breaks the
schema. Bounded: a few examples per operation and no deadline per example.

Operations are driven one by one through hypothesis (schemathesis's own pytest plugin
does not load under this pytest version)."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from tests.fixtures import demo

EXAMPLES = 6
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
# Signing out or changing the password would end the session the other operations use.
SESSION_ENDING = ("/api/v1/auth/logout", "/api/v1/auth/password")


def test_no_server_errors_and_answers_match_the_schema(
    app: FastAPI, database: Database, settings: Settings
) -> None:
    demo.load(database, settings)
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/login",
            json={"email": demo_email("Marcus Oyelaran"), "password": settings.demo_password},
        ).json()["token"]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SESSION_ENDING:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            exercise()
        except Exception as error:  # collect every operation's failure, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
    assert operations > 10
    assert not failures, "\n\n".join(failures)
