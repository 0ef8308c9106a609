"""Fixtures of the roster tests: a district to import into, the command line's
environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from goalpath.config import Settings, get_settings
from goalpath.db import Database
from goalpath.models import SchoolDistrict


@pytest.fixture
def district(database: Database) -> int:
    with database.session_scope() as session:
        district = SchoolDistrict(name="Riverbend")
        session.add(district)
        session.flush()
        return district.id_school_district


@pytest.fixture
def cli_env(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GOALPATH_HEALTH_NOTE_KEYS", settings.health_note_keys or "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
