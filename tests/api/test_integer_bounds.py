"""Integers past the database's range in an address are a 4xx, never a 500 (SPEC 10).

Every route of the app is walked, the API's and the pages', included routers too
(FastAPI keeps them nested rather than listing their routes in `app.routes`). Each path
parameter and query parameter gets values past a 32-bit and a 64-bit column and a
negative one, signed in as a system administrator so that the request reaches the
handler; the other path parameters are ids of real rows, so the handler goes as deep as
it can. Bodies are not sent: an API operation with a required body answers 422 before
its handler runs, so the declared bounds of its parameters are checked as well.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from annotated_types import Ge, Gt, Le, Lt
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import Base
from tests.fixtures import demo
from tests.users.helpers import SYSTEM_ADMIN

PROBES = (str(2**63), str(2**31), "-1")
# Years a school-year picker could be sent that no date can hold.
YEAR_PROBES = ("0000", "9999", "99999")
INT32 = (-(2**31), 2**31 - 1)
# Query parameters a page reads by hand rather than declaring.
UNDECLARED_QUERY = {
    "/goals/{id_goal}": ("year",),
    "/students": ("limit",),
    "/programs/{id_program}/report-status": ("year",),
}
# A path parameter whose table is not its name without the id_ prefix.
TABLE_OF = {"id_report": "progress_report"}


@dataclass(frozen=True)
class Parameter:
    where: str  # "path" or "query"
    name: str
    annotation: Any
    metadata: tuple[Any, ...]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    page: bool
    has_body: bool
    parameters: tuple[Parameter, ...]


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for dependency in dependant.dependencies:
        yield from _dependants(dependency)


def _parameters(route: APIRoute) -> tuple[Parameter, ...]:
    found: dict[tuple[str, str], Parameter] = {}
    for dependant in _dependants(route.dependant):
        for where, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
            for field in fields:
                annotation = field.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    # A model of query parameters: each of its fields is one.
                    for name, model_field in annotation.model_fields.items():
                        key = (where, model_field.alias or name)
                        found[key] = Parameter(
                            where, key[1], model_field.annotation, tuple(model_field.metadata)
                        )
                    continue
                found[(where, field.alias)] = Parameter(
                    where, field.alias, annotation, tuple(field.field_info.metadata)
                )
    return tuple(found.values())


def operations(app: FastAPI) -> list[Operation]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        parameters = list(_parameters(route))
        for name in UNDECLARED_QUERY.get(context.path, ()):
            parameters.append(Parameter("query", name, str, ()))
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            found.append(
                Operation(
                    method=method,
                    path=context.path,
                    page=not context.path.startswith("/api/"),
                    has_body=route.body_field is not None,
                    parameters=tuple(parameters),
                )
            )
    return found


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_int(member) for member in typing.get_args(annotation))
    return False


def _bounds(parameter: Parameter) -> tuple[float, float]:
    low, high = float("-inf"), float("inf")
    for item in parameter.metadata:
        if isinstance(item, Ge):
            low = max(low, float(item.ge))  # type: ignore[arg-type]
        elif isinstance(item, Gt):
            low = max(low, float(item.gt) + 1)  # type: ignore[arg-type]
        elif isinstance(item, Le):
            high = min(high, float(item.le))  # type: ignore[arg-type]
        elif isinstance(item, Lt):
            high = min(high, float(item.lt) - 1)  # type: ignore[arg-type]
    return low, high


def real_ids(database: Database) -> dict[str, str]:
    """The smallest id of each table, by its id column's name."""
    ids = {}
    with database.session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.primary_key.columns:
                value = session.scalar(select(func.min(column)))
                if value is not None:
                    ids[column.name] = str(value)
    for name, table_name in TABLE_OF.items():
        column = next(iter(Base.metadata.tables[table_name].primary_key.columns))
        if column.name in ids:
            ids[name] = ids[column.name]
    return ids


@pytest.fixture
def signed_in(
    app: FastAPI, database: Database, settings: Settings
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """An API client with a system administrator's bearer token and a browser-like
    client with their session cookie and CSRF token."""
    demo.load(database, settings)
    credentials = {"email": demo_email(SYSTEM_ADMIN), "password": settings.demo_password}
    with (
        TestClient(app, raise_server_exceptions=False) as api,
        TestClient(app, raise_server_exceptions=False) as browser,
    ):
        token = api.post("/api/v1/auth/login", json=credentials).json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        signed = browser.post("/api/v1/auth/login", json={**credentials, "session": "cookie"})
        assert signed.status_code == 200, signed.text
        assert browser.get("/account/sessions").status_code == 200
        browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
        yield api, browser, real_ids(database)


def test_every_route_is_walked(app: FastAPI) -> None:
    """The walk sees the included routers: a page, an API route and their parameters."""
    walked = {(operation.method, operation.path): operation for operation in operations(app)}
    assert ("DELETE", "/api/v1/auth/sessions/{id_user_session}") in walked
    assert ("POST", "/account/sessions/{id_user_session}/end") in walked
    assert ("GET", "/students/{id_student}") in walked
    assert len(walked) > 100
    users = walked[("GET", "/api/v1/users")]
    assert {parameter.name for parameter in users.parameters} >= {"id_role", "limit"}


def test_integer_parameters_declare_a_range_the_database_can_hold(app: FastAPI) -> None:
    unbounded = []
    for operation in operations(app):
        for parameter in operation.parameters:
            if not _is_int(parameter.annotation):
                continue
            low, high = _bounds(parameter)
            if low < INT32[0] or high > INT32[1]:
                unbounded.append(f"{operation.method} {operation.path} {parameter.name}")
    assert unbounded == []


def _request(
    client: TestClient, operation: Operation, path_values: dict[str, str], query: dict[str, str]
) -> int:
    path = operation.path
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", value)
    extra: dict[str, Any] = {}
    if operation.page and operation.method == "POST":
        # A page's form with every field left empty.
        extra["data"] = {}
    response = client.request(operation.method, path, params=query, follow_redirects=False, **extra)
    return response.status_code


def test_out_of_range_integers_are_refused_with_4xx(
    app: FastAPI, signed_in: tuple[TestClient, TestClient, dict[str, str]]
) -> None:
    api, browser, ids = signed_in
    failures = []
    probed = 0
    for operation in operations(app):
        client = browser if operation.page else api
        path_parameters = [p for p in operation.parameters if p.where == "path"]
        defaults = {p.name: ids.get(p.name, "1") for p in path_parameters}
        for parameter in operation.parameters:
            if parameter.where == "query" and not (_is_int(parameter.annotation) or operation.page):
                continue
            probes = PROBES + (YEAR_PROBES if parameter.name == "year" else ())
            for value in probes:
                if parameter.where == "path":
                    status = _request(client, operation, {**defaults, parameter.name: value}, {})
                else:
                    status = _request(client, operation, defaults, {parameter.name: value})
                probed += 1
                if operation.page and parameter.where == "query":
                    # A page may fall back to its default for a value it cannot use.
                    allowed = status < 500
                elif operation.page:
                    # Or send the person elsewhere.
                    allowed = 300 <= status < 500
                else:
                    allowed = 400 <= status < 500
                if not allowed:
                    failures.append(
                        f"{operation.method} {operation.path} {parameter.name}={value}: {status}"
                    )
    assert probed > 200
    assert not failures, "\n".join(failures)


def test_ending_a_session_past_the_range_is_a_clear_refusal(
    signed_in: tuple[TestClient, TestClient, dict[str, str]],
) -> None:
    api, browser, _ids = signed_in
    response = api.delete(f"/api/v1/auth/sessions/{2**63}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["path.id_user_session"]
    page = browser.post(f"/account/sessions/{2**63}/end", data={})
    assert page.status_code == 404
    assert "No such session." in page.text
    assert "text/html" in page.headers["content-type"]
    # Both still work for a real session: the browser ends the API client's.
    sessions = browser.get("/api/v1/auth/sessions").json()
    other = next(item for item in sessions if not item["current"])
    ended = browser.post(f"/account/sessions/{other['id_user_session']}/end", data={})
    assert ended.status_code in (200, 303)
    assert api.get("/api/v1/auth/me").status_code == 401


@pytest.mark.parametrize("year", ["0000", "9999", "1899"])
def test_a_goal_chart_for_a_year_no_report_can_have_is_a_clear_page(
    signed_in: tuple[TestClient, TestClient, dict[str, str]], year: str
) -> None:
    _api, browser, ids = signed_in
    response = browser.get(f"/goals/{ids['id_goal']}", params={"year": year})
    assert response.status_code == 422
    assert "text/html" in response.headers["content-type"]
    assert "The school year must be a year from 1900 to 9998, such as 2026." in response.text
