"""One engine per process, built from DATABASE_URL, and a session per request.

The request owns the transaction: `session_scope` commits when the block ends without
error and rolls back otherwise. Services only flush.

Two rules keep a burst of requests from starving the pool (SPEC section 16):

- A request never holds two connections. What must be kept even when the request
  fails (the audit row of a refusal, a session's last-seen time) is queued with
  `keep_whatever_happens` and written on the request's own connection: with the
  request's commit, or after its rollback in a short transaction of its own.
- The pool is as large as the number of requests that can run at once.

On SQLite a request that may write begins its transaction with `BEGIN IMMEDIATE`, so
a read-decide-write rule (no cycle in a goal tree, one identifier per district) runs
with the database's single write lock already held: two such requests cannot both
read the state before the other's write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, Executable, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.pool import QueuePool

from goalpath.config import Settings

# MariaDB/MySQL: UTC on the wire and strict mode, so bad data is refused rather than
# truncated (SPEC section 10: bad input changes nothing).
_MYSQL_INIT = (
    "SET time_zone = '+00:00', sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,"
    "NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"
)


logger = logging.getLogger("goalpath.db")

# Session.info keys.
_KEPT = "goalpath.kept_whatever_happens"
_IMMEDIATE = "goalpath.begin_immediate"
# Methods that only read (an audit row aside): their SQLite transactions stay deferred
# so that readers never queue behind the write lock.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalise_url(raw: str) -> URL:
    """Pick the supported driver for each backend whatever scheme the operator wrote."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb"):
        url = url.set(drivername="mysql+pymysql")
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
    elif backend == "sqlite":
        url = url.set(drivername="sqlite+pysqlite")
    else:
        raise ValueError(f"unsupported database backend {backend!r}")
    return url


def backend_name(engine: Engine) -> str:
    """'sqlite', 'postgresql' or 'mysql' (MariaDB reports itself as mysql)."""
    return "mysql" if engine.dialect.name in ("mysql", "mariadb") else engine.dialect.name


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def make_engine(settings: Settings, *, url: str | None = None) -> Engine:
    database_url = normalise_url(url or settings.database_url)
    backend = database_url.get_backend_name()
    kwargs: dict[str, Any] = {"echo": settings.db_echo, "pool_pre_ping": backend != "sqlite"}
    if backend == "sqlite":
        if database_url.database and database_url.database != ":memory:":
            Path(database_url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        }
        kwargs["poolclass"] = QueuePool
    # As many connections as requests can run at once (the worker threads), and each
    # request holds at most one: no request waits for the pool.
    kwargs["pool_size"] = settings.db_pool_size
    kwargs["max_overflow"] = settings.db_pool_overflow
    kwargs["pool_timeout"] = settings.db_pool_timeout_seconds
    if backend != "sqlite":
        kwargs["pool_recycle"] = 1800
        if backend == "mysql":
            kwargs["connect_args"] = {"init_command": _MYSQL_INIT}
        else:
            # Sessions in UTC, like the stored timestamps, whatever the server's zone.
            kwargs["connect_args"] = {"options": "-c timezone=UTC"}
    engine = create_engine(database_url, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))
    return engine


def keep_whatever_happens(
    session: Session, statement: Executable, rows: list[dict[str, Any]] | None = None
) -> None:
    """Queue a write that must stand whether the request commits or rolls back (the
    audit row of a refusal). It goes out on the request's own connection."""
    session.info.setdefault(_KEPT, []).append((statement, rows))


def _write_kept(session: Session) -> None:
    kept = session.info.pop(_KEPT, None)
    for statement, rows in kept or ():
        if rows:
            session.execute(statement, rows)
        else:
            session.execute(statement)


@event.listens_for(Session, "after_begin")
def _begin_immediate(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    # A savepoint (a page's change that may be refused) begins inside the transaction
    # that already holds the lock.
    if (
        session.info.get(_IMMEDIATE)
        and transaction.parent is None
        and connection.dialect.name == "sqlite"
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine and session factory the app and the command line share."""

    def __init__(self, settings: Settings, *, url: str | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings, url=url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return backend_name(self.engine)

    @contextmanager
    def session_scope(self, *, writes: bool = False) -> Iterator[Session]:
        """One unit of work. With `writes=True` (a request that may change data) an
        SQLite transaction takes the write lock as it begins."""
        session = self.session_factory()
        session.info[_IMMEDIATE] = writes
        try:
            yield session
            _write_kept(session)
            session.commit()
        except BaseException:
            session.rollback()
            if session.info.get(_KEPT):
                try:
                    _write_kept(session)
                    session.commit()
                except Exception:
                    # The refusal itself still reaches the client; the log says the
                    # audit row could not be written.
                    logger.exception("could not write the rows kept after a rollback")
                    session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def request_session(request: Request) -> Iterator[Session]:
    """The request's transaction: committed when the endpoint returns, before the
    response is sent; rolled back when it raises."""
    database: Database = request.app.state.database
    with database.session_scope(writes=request.method not in READ_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(request_session, scope="function")]
