"""Alembic environment: the engine comes from Goalpath's own settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from goalpath.migrations import compare_server_default, compare_type
from goalpath.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=compare_type,
        compare_server_default=compare_server_default,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from goalpath.config import get_settings
    from goalpath.db import make_engine

    engine = make_engine(get_settings(), url=config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `goalpath db upgrade`")
run_migrations_online()
