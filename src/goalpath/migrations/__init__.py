"""Alembic migrations, the only way Goalpath's schema is created or changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Compare a TypeDecorator column by the DDL it renders on this backend."""
    if isinstance(metadata_type, TypeDecorator):
        dialect = context.dialect
        rendered = metadata_type.load_dialect_impl(dialect).compile(dialect=dialect)
        inspected = inspected_type.compile(dialect=dialect)
        if dialect.name == "sqlite":
            # SQLite stores both as text; SQLAlchemy's SQLite dialect calls TIMESTAMP DATETIME.
            rendered, inspected = (
                name.replace("DATETIME", "TIMESTAMP") for name in (rendered, inspected)
            )
        return bool(rendered != inspected)
    return None


def _normalised_default(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"::[\w ]+", "", value).strip("()'\" ")
    return {"false": "0", "true": "1"}.get(value.lower(), value)


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool:
    """Backends spell the same default differently (false, 0, '0'); compare the value."""
    return _normalised_default(inspected_default) != _normalised_default(rendered_metadata_default)
