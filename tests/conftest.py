"""Test fixtures: one real database per run on the backend named by
GOALPATH_TEST_BACKEND (sqlite, postgresql or mysql), built by the real migrations.

Tests commit for real (sign-in races and audit rows need it); after each test every row
it added is deleted, leaving the migrations' default roles and permissions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update

from goalpath import migrations
from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database, backend_name
from goalpath.health_notes.crypto import new_key
from goalpath.models import Base, Role
from tests.fixtures.backends import BACKENDS, throwaway_database

pytest_plugins = ["tests.fixtures.smtp"]

BACKEND = os.environ.get("GOALPATH_TEST_BACKEND", "sqlite")
if BACKEND not in BACKENDS:
    raise pytest.UsageError(f"GOALPATH_TEST_BACKEND must be one of {BACKENDS}, not {BACKEND!r}")
# Tables whose migration-seeded rows survive between tests.
REFERENCE_TABLES = ("role", "permission", "role_permission")


def pytest_report_header() -> str:
    return f"goalpath backend: {BACKEND}"


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("goalpath")


@pytest.fixture(scope="session")
def database_url(workdir: Path) -> Iterator[str]:
    with throwaway_database(BACKEND, workdir) as url:
        yield url


def make_settings(database_url: str, workdir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "health_note_keys": _HEALTH_NOTE_KEY,
        "key_file": workdir / "unused.keys",
        # The cheapest parameters the policy allows keep the suite quick; the production
        # defaults are asserted in tests/auth.
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19456,
        "outbox_dir": workdir / "outbox",
        "secret_key": "test-signing-key-not-secret",
        # High enough that only the rate-limit tests reach them.
        "rate_limit_login_ip": "1000/minute",
        "rate_limit_login_account": "1000/minute",
        "rate_limit_reset_ip": "1000/minute",
        "rate_limit_reset_account": "1000/minute",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


_HEALTH_NOTE_KEY = new_key()


@pytest.fixture(scope="session")
def settings(database_url: str, workdir: Path) -> Settings:
    return make_settings(database_url, workdir)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings)
    migrations.upgrade(db.engine)
    # The suite runs as the demo does, with no role requiring a second factor (roles
    # outlive each test's wipe); tests of the requirement turn it on for a role.
    with db.engine.begin() as connection:
        connection.execute(update(Role).values(requires_second_factor=False))
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def reference_baseline(database: Database) -> dict[str, int]:
    baseline = {}
    with database.engine.connect() as connection:
        for table_name in REFERENCE_TABLES:
            table = Base.metadata.tables[table_name]
            primary_key = next(iter(table.primary_key.columns))
            baseline[table_name] = connection.execute(
                text(f"SELECT COALESCE(MAX({primary_key.name}), 0) FROM {table_name}")
            ).scalar_one()
    return baseline


def _wipe(engine: Engine, baseline: dict[str, int]) -> None:
    backend = backend_name(engine)
    with engine.begin() as connection:
        if backend == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in baseline:
                primary_key = next(iter(table.primary_key.columns))
                connection.execute(table.delete().where(primary_key > baseline[table.name]))
            else:
                connection.execute(table.delete())
        if backend == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database" not in request.fixturenames:
        yield
        return
    database: Database = request.getfixturevalue("database")
    baseline: dict[str, int] = request.getfixturevalue("reference_baseline")
    yield
    _wipe(database.engine, baseline)


@pytest.fixture
def session(database: Database, reference_baseline: dict[str, int]) -> Iterator[object]:
    with database.session_scope() as db_session:
        yield db_session


class Clock:
    """The app's clock, moved by tests instead of sleeping."""

    def __init__(self) -> None:
        # A minute ahead of the wall clock, which stamps users made by factories, so
        # that "now" in the app is never before their password_updated_at.
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(
    settings: Settings, database: Database, reference_baseline: dict[str, int], clock: Clock
) -> FastAPI:
    application = create_app(settings, database)
    application.state.clock = clock
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
