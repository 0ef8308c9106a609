"""The physical floor of a request: its SELECT statements through the bare driver."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event

if TYPE_CHECKING:
    from bench.run import Scenario

Captured = list[tuple[str, Any]]


@contextmanager
def capture(engine: Any) -> Iterator[Captured]:
    statements: Captured = []

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def record_request(env: dict[str, str], scenario: Scenario) -> tuple[int, Captured]:
    """Run the scenario's request once in-process; count and keep its statements."""
    from fastapi.testclient import TestClient

    from goalpath.app import create_app
    from goalpath.config import Settings
    from goalpath.db import Database

    settings = Settings(database_url=env["DATABASE_URL"])
    database = Database(settings)
    app = create_app(settings, database)
    headers = {"Authorization": f"Bearer {scenario.token}"} if scenario.token else {}
    with TestClient(app) as client:
        # One request first so that one-off work (pool warm-up, caches) is not counted.
        client.request(scenario.method, scenario.path, headers=headers, json=scenario.body)
        with capture(database.engine) as statements:
            response = client.request(
                scenario.method, scenario.path, headers=headers, json=scenario.body
            )
    database.dispose()
    if response.status_code >= 400:
        raise SystemExit(f"{scenario.name}: {response.status_code} {response.text[:300]}")
    return len(statements), [
        (s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def measure_floor(database_url: str, statements: Captured, *, seconds: float = 1.5) -> float:
    """Median milliseconds to run the statements and serialise the last result as JSON."""
    from goalpath.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    connection = engine.raw_connection()
    timings: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(timings) < 20:
            started = time.perf_counter()
            rows: list[Any] = []
            names: list[str] = []
            for statement, parameters in statements:
                cursor = connection.cursor()
                cursor.execute(statement, parameters)
                rows = cursor.fetchall()
                names = [column[0] for column in cursor.description or ()]
                cursor.close()
            json.dumps(
                {"items": [dict(zip(names, map(_plain, row), strict=False)) for row in rows]}
            )
            timings.append(time.perf_counter() - started)
            connection.rollback()
    finally:
        connection.close()
        engine.dispose()
    return round(statistics.median(timings) * 1000, 3)
