"""The command line: `goalpath ...` or `python -m goalpath ...`."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from goalpath.config import Settings, get_settings
from goalpath.db import Database
from goalpath.errors import GoalpathError

# Tracebacks never print local variables: they may hold passwords.
app = typer.Typer(
    help="Goalpath: students' goals, progress and reports.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
roster_app = typer.Typer(help="Import OneRoster CSV sets (docs/rosters.md).", no_args_is_help=True)
app.add_typer(roster_app, name="roster")

ADMIN_PASSWORD_VARIABLE = "GOALPATH_ADMIN_PASSWORD"
# A request whose line and headers are still incomplete past this many bytes is refused
# (400) before the app sees it; browsers' own requests stay far below it.
MAX_HEADER_BYTES = 16 * 1024
# An idle connection between requests is closed after this long.
KEEP_ALIVE_SECONDS = 5


def _database() -> Database:
    return Database(get_settings())


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from goalpath import migrations

    database = _database()
    migrations.upgrade(database.engine, revision)
    typer.echo(f"database at revision {migrations.current_revision(database.engine)}")
    database.dispose()


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("-1", help="Target revision, or base")) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    from goalpath import migrations

    database = _database()
    migrations.downgrade(database.engine, revision)
    typer.echo(f"database at revision {migrations.current_revision(database.engine)}")
    database.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from goalpath import migrations

    database = _database()
    typer.echo(migrations.current_revision(database.engine) or "empty")
    database.dispose()


class RosterProgress:
    """The import's progress bar: one line per file, rows done of the rows counted by
    the first pass. Drawn on stderr, and only when stderr is a terminal, so neither a
    pipe, a log nor `--json` output ever holds it."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    @classmethod
    @contextmanager
    def on_stderr(cls) -> Iterator[RosterProgress | None]:
        console = Console(stderr=True)
        if not console.is_terminal:
            yield None
            return
        progress = cls(console)
        with progress.bar:
            yield progress

    def __call__(self, name: str, rows: int, total: int | None) -> None:
        task = self.tasks.get(name)
        if task is None:
            task = self.tasks[name] = self.bar.add_task(name, total=total)
        self.bar.update(task, completed=rows, total=total)


@roster_app.command("import")
def roster_import(
    path: Path = typer.Argument(..., help="A zip or a folder holding manifest.csv"),
    district: int = typer.Option(..., help="The district the roster belongs to"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would change, change nothing"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
    program: int | None = typer.Option(None, help="Put every student into this one program"),
    staff_role: str | None = typer.Option(None, help="Role given to new staff accounts"),
    caseloads_from_classes: bool = typer.Option(
        False,
        "--caseloads-from-classes",
        help="Give teachers read access to their classes' students",
    ),
) -> None:
    """Import a OneRoster 1.1 or 1.2 CSV set: schools, staff and students."""
    import json

    from goalpath.models.base import utcnow
    from goalpath.rosters.reader import RosterRefused
    from goalpath.rosters.service import ImportOptions, import_roster_in

    options = ImportOptions(
        id_school_district=district,
        id_program=program,
        staff_role=staff_role,
        caseloads_from_classes=caseloads_from_classes,
    )
    database = _database()
    try:
        with RosterProgress.on_stderr() as progress:
            summary = import_roster_in(
                database, path, options, now=utcnow(), dry_run=dry_run, progress=progress
            )
    except RosterRefused as refusal:
        typer.echo(f"refused, nothing imported: {refusal}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    for note in summary.notes:
        typer.echo(note, err=True)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    outcome = summary.as_dict()
    prefix = "would change (dry run)" if dry_run else "imported"
    for heading in ("created", "updated", "deactivated"):
        counts = outcome[heading]
        assert isinstance(counts, dict)
        typer.echo(f"{prefix}: {heading} " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    typer.echo(f"unchanged: {summary.unchanged}")
    if summary.errors:
        typer.echo(f"{len(summary.errors)} rows skipped (file, line, sourcedId, problem):")
        for error in summary.errors:
            typer.echo(f"  {error.file}, {error.line}, {error.sourced_id}, {error.problem}")


def _read_admin_password() -> str:
    from_environment = os.environ.get(ADMIN_PASSWORD_VARIABLE)
    if from_environment:
        return from_environment
    if not sys.stdin.isatty():
        typer.echo(
            f"Set {ADMIN_PASSWORD_VARIABLE} or run in a terminal to be asked for the password.",
            err=True,
        )
        raise typer.Exit(2)
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        typer.echo("The passwords differ.", err=True)
        raise typer.Exit(2)
    return first


@app.command("create-admin")
def create_admin(
    email: str = typer.Option(..., help="The administrator's email address"),
    name: str = typer.Option(..., help="The administrator's full name"),
) -> None:
    """Create a system administrator. The password is read from GOALPATH_ADMIN_PASSWORD
    or asked for; it is never taken from the command line."""
    from goalpath.authz.roles import role_id_by_name
    from goalpath.users.service import create_user, passwords_from

    settings = get_settings()
    database = _database()
    password = _read_admin_password()
    try:
        with database.session_scope() as session:
            user = create_user(
                session,
                settings,
                passwords_from(settings),
                email=email,
                name=name,
                password=password,
                id_role=role_id_by_name(session, "system_admin"),
            )
            typer.echo(f"created system administrator {user.email} (id {user.id_user})")
    except GoalpathError as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


@app.command("demo")
def demo(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Load only when the database holds no district yet"
    ),
    size: str = typer.Option(
        "small", help="small: the Riverbend demo district; large: the benchmark district"
    ),
    scale: float = typer.Option(1.0, min=0.0001, max=1.0, help="Shrink the large district"),
    require_second_factor: bool = typer.Option(
        False,
        "--require-second-factor",
        help="Keep the second-factor requirement of the roles that read health notes",
    ),
) -> None:
    """Load the deterministic demo district (refused if the database holds other data)."""
    from goalpath.demo.loader import DemoRefused, load_demo

    settings = get_settings()
    database = _database()
    try:
        if size == "large":
            from goalpath.demo.large import generate_large

            counts = generate_large(database, settings, scale=scale)
            outcome = "loaded the large district: " + ", ".join(
                f"{n} {what}" for what, n in counts.items()
            )
        elif size == "small":
            outcome = load_demo(
                database,
                settings,
                only_if_empty=if_empty,
                require_second_factor=require_second_factor,
            )
        else:
            raise typer.BadParameter("size must be small or large")
    except DemoRefused as refusal:
        typer.echo(f"refused: {refusal}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(outcome)


@app.command("rotate-health-note-key")
def rotate_health_note_key(
    batch_size: int = typer.Option(500, min=1, help="Notes re-encrypted per transaction"),
) -> None:
    """Re-encrypt every health note under the newest key (docs/operations.md)."""
    from goalpath.health_notes.rotation import rotate_health_note_keys

    database = _database()
    try:
        count = rotate_health_note_keys(database, get_settings(), batch_size=batch_size)
    finally:
        database.dispose()
    typer.echo(f"re-encrypted {count} health notes under the newest key")


@app.command("generate-reports")
def generate_reports_command(
    as_email: str = typer.Option(..., "--as", help="Email of the staff member generating"),
    period: str = typer.Option(..., help="Reporting period, e.g. Q1"),
    year: int = typer.Option(..., help="The year the school year starts in"),
    program: int | None = typer.Option(None, help="Every student of this program"),
    student: int | None = typer.Option(None, help="One student"),
) -> None:
    """Draft progress reports with the same rights as the named staff member."""
    from sqlalchemy import select

    from goalpath.audit.service import AuditTrail
    from goalpath.authz.grants import load_grants
    from goalpath.authz.service import Authorizer
    from goalpath.models import User
    from goalpath.models.base import utcnow
    from goalpath.progress_reports.generation import generate_reports

    if (program is None) == (student is None):
        raise typer.BadParameter("give exactly one of --program and --student")
    settings = get_settings()
    database = _database()
    try:
        with database.session_scope() as session:
            user = session.scalars(
                select(User).where(User.email == as_email.strip().lower())
            ).one_or_none()
            if user is None or not user.is_active:
                typer.echo("refused: no active account with that email", err=True)
                raise typer.Exit(1)
            now = utcnow()
            grants = load_grants(session, user.id_user, user.id_role)
            audit = AuditTrail(session, id_user=user.id_user, ip=None, now=now)
            result = generate_reports(
                Authorizer(session, grants, audit),
                settings,
                period=period,
                year=year,
                id_program=program,
                id_student=student,
                now=now,
            )
            typer.echo(
                f"created {result.created}, updated {result.updated}, "
                f"left final {result.skipped_final}"
            )
    except GoalpathError as error:
        typer.echo(f"refused: {error.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


PUBLIC_BASE_URL_VARIABLE = "GOALPATH_PUBLIC_BASE_URL"


def _follow_the_listener(host: str, port: int) -> None:
    """Unless the operator configured the public address, it is where this server
    listens (SPEC section 16: `make run PORT=8101` prints and mails links on 8101)."""
    if "public_base_url" in get_settings().model_fields_set:
        return
    # A wildcard address is not one a browser can open; this machine's loopback is.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    os.environ[PUBLIC_BASE_URL_VARIABLE] = f"http://{shown}:{port}"
    get_settings.cache_clear()


@app.command("sign-in-help")
def sign_in_help(
    host: str = typer.Option("127.0.0.1", help="Address the server listens on"),
    port: int = typer.Option(8000, help="Port the server listens on"),
) -> None:
    """Print how to sign in to the demo district."""
    from goalpath.demo.loader import STAFF, demo_email

    _follow_the_listener(host, port)
    settings = get_settings()
    typer.echo(f"\nGoalpath is starting on {settings.public_base_url}")
    typer.echo(f"Demo district accounts (password: {settings.demo_password}):")
    for member in STAFF:
        typer.echo(f"  {member.role:<20} {demo_email(member.name)}")
    typer.echo(f"Sign in at {settings.public_base_url}/sign-in with one of them.")
    typer.echo("API: POST /api/v1/auth/login with email and password; docs at /api/docs\n")


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every way of serving Goalpath shares (the tests' live server
    included), so what is tested is what runs."""
    return {
        # h11, not httptools: httptools puts no bound on a request's headers, and
        # h11_max_incomplete_event_size below applies to h11 only.
        "http": "h11",
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        # uvicorn answers 503 once the open connections, the asking one included, reach
        # its limit: one more lets exactly server_max_connections be served.
        "limit_concurrency": settings.server_max_connections + 1,
        "proxy_headers": False,
        "server_header": False,
        "ws": "none",
        "log_level": settings.log_level.lower(),
    }


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, min=1, help="Worker processes"),
) -> None:
    """Serve the web application and the API."""
    import uvicorn

    _follow_the_listener(host, port)

    uvicorn.run(
        "goalpath.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **server_options(get_settings()),
    )


def main() -> None:
    app()
