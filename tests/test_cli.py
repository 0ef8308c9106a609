"""The command line against this backend's test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from goalpath import cli
from goalpath.config import Settings, get_settings
from goalpath.db import Database
from goalpath.models import (
    Goal,
    HealthNote,
    ProgressEvent,
    Role,
    SchoolDistrict,
    Student,
    User,
    UserStudent,
)

runner = CliRunner()
STRONG = "tangerine-voyage-quietly-81"


@pytest.fixture
def cli_env(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GOALPATH_HEALTH_NOTE_KEYS", settings.health_note_keys or "")
    monkeypatch.setenv("GOALPATH_ARGON2_MEMORY_KIB", str(settings.argon2_memory_kib))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_create_admin_reads_password_from_environment(
    cli_env: None, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cli.ADMIN_PASSWORD_VARIABLE, STRONG)
    result = runner.invoke(
        cli.app, ["create-admin", "--email", "Ada@Example.org", "--name", "Ada K"]
    )
    assert result.exit_code == 0, result.output
    with database.session_scope() as session:
        user = session.scalars(select(User).where(User.email == "ada@example.org")).one()
        role = session.get(Role, user.id_role)
        assert role is not None and role.name == "system_admin"
        assert user.password_updated_at is not None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pass", "at least 15 characters"),
        ("goalpath-is-my-password", "product's name"),
        ("ada-lovelace-rules-99", "your name"),
    ],
)
def test_create_admin_refuses_weak_password_with_reason(
    cli_env: None, database: Database, monkeypatch: pytest.MonkeyPatch, password: str, reason: str
) -> None:
    monkeypatch.setenv(cli.ADMIN_PASSWORD_VARIABLE, password)
    result = runner.invoke(
        cli.app, ["create-admin", "--email", "ada@example.org", "--name", "Ada Lovelace"]
    )
    assert result.exit_code == 1
    assert reason in result.output
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_create_admin_has_no_password_option() -> None:
    result = runner.invoke(cli.app, ["create-admin", "--help"])
    assert "--password" not in result.output


def test_demo_loads_a_deterministic_district(cli_env: None, database: Database) -> None:
    result = runner.invoke(cli.app, ["demo"])
    assert result.exit_code == 0, result.output
    with database.session_scope() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (
                SchoolDistrict,
                User,
                Student,
                Goal,
                ProgressEvent,
                HealthNote,
                UserStudent,
            )
        }
        roles = set(
            session.scalars(select(Role.name).join(User, User.id_role == Role.id_role).distinct())
        )
        sensitive = session.scalar(
            select(func.count()).select_from(ProgressEvent).where(ProgressEvent.is_sensitive)
        )
        sub_goals = session.scalar(
            select(func.count()).select_from(Goal).where(Goal.id_goal_parent.is_not(None))
        )
        first_event = session.scalar(select(func.min(ProgressEvent.created_at)))
        last_event = session.scalar(select(func.max(ProgressEvent.created_at)))
        note = session.scalars(select(HealthNote.content)).first()
    assert counts["SchoolDistrict"] == 1
    assert counts["User"] == 12
    assert counts["Student"] == 48
    assert roles == {
        "system_admin",
        "district_admin",
        "program_coordinator",
        "case_manager",
        "counselor",
        "nurse",
        "auditor",
    }
    assert sensitive and 0 < sensitive < counts["ProgressEvent"] // 5
    assert sub_goals and sub_goals > 0
    assert first_event is not None and last_event is not None
    assert (last_event - first_event).days > 365  # two school years
    assert note is not None and "inhaler" not in note and "diabetes" not in note
    # Deterministic: the same seed gives the same counts on every run and backend.
    assert counts["ProgressEvent"] == DEMO_EVENTS


DEMO_EVENTS = 3611


def test_demo_twice_changes_nothing(cli_env: None, database: Database) -> None:
    assert runner.invoke(cli.app, ["demo"]).exit_code == 0
    result = runner.invoke(cli.app, ["demo"])
    assert result.exit_code == 0
    assert "already loaded" in result.output
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(SchoolDistrict)) == 1


def test_demo_refuses_a_database_with_other_data(
    cli_env: None, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cli.ADMIN_PASSWORD_VARIABLE, STRONG)
    assert (
        runner.invoke(
            cli.app, ["create-admin", "--email", "it@lakeside.example", "--name", "Ira T"]
        ).exit_code
        == 0
    )
    result = runner.invoke(cli.app, ["demo"])
    assert result.exit_code == 1
    assert "refused" in result.output
    assert "not loaded" in runner.invoke(cli.app, ["demo", "--if-empty"]).output
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Student)) == 0


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "goalpath", "--help"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    for command in ("db", "create-admin", "demo", "serve"):
        assert command in completed.stdout


def test_bad_report_periods_setting_is_refused_at_start() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(report_periods='{"Q1": ["13-01", "10-15"]}')
    assert Settings(report_periods='{"Q1": ["08-01", "10-15"]}').report_periods


def test_generate_reports_command(cli_env: None, database: Database) -> None:
    from goalpath.models import Program, ProgressReport

    assert runner.invoke(cli.app, ["demo"]).exit_code == 0
    with database.session_scope() as session:
        program = str(session.scalar(select(func.min(Program.id_program))))
        before = session.scalar(select(func.count()).select_from(ProgressReport))
    # The demo's current quarter: the first program has not drafted it yet.
    common = ["--period", "Q2", "--year", "2026", "--program", program]
    coordinator = "priya.raman@riverbend-usd.example"
    result = runner.invoke(cli.app, ["generate-reports", "--as", coordinator, *common])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    with database.session_scope() as session:
        after = session.scalar(select(func.count()).select_from(ProgressReport))
    assert after is not None and before is not None and after > before
    refused = runner.invoke(cli.app, ["generate-reports", "--as", "nobody@x.example", *common])
    assert refused.exit_code == 1


def test_rotate_health_note_key_command(cli_env: None, database: Database) -> None:
    assert runner.invoke(cli.app, ["demo"]).exit_code == 0
    result = runner.invoke(cli.app, ["rotate-health-note-key"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 19 health notes" in result.output


def test_links_follow_the_port_unless_the_public_address_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SPEC section 16: `make run PORT=8101` prints and mails links on 8101."""
    # Set first, so that the variable the command sets is removed again afterwards.
    monkeypatch.setenv("GOALPATH_PUBLIC_BASE_URL", "https://unused.example")
    monkeypatch.delenv("GOALPATH_PUBLIC_BASE_URL")
    get_settings.cache_clear()
    try:
        printed = runner.invoke(cli.app, ["sign-in-help", "--port", "8101"])
        assert printed.exit_code == 0, printed.output
        assert "http://127.0.0.1:8101/sign-in" in printed.output
        assert ":8000" not in printed.output
        # The server process then builds mail links from the same address.
        assert get_settings().public_base_url == "http://127.0.0.1:8101"
        monkeypatch.setenv("GOALPATH_PUBLIC_BASE_URL", "https://goals.riverbend.example")
        get_settings.cache_clear()
        configured = runner.invoke(cli.app, ["sign-in-help", "--port", "8101"])
        assert "https://goals.riverbend.example/sign-in" in configured.output
        assert "8101" not in configured.output
    finally:
        get_settings.cache_clear()
