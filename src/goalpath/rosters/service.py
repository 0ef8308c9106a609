"""The roster import: OneRoster CSV into programs, staff accounts and students
(SPEC section 15; the mapping is in docs/rosters.md).

Two passes over the files. The first only reads (`validation`): it checks structure
(headers, RFC 4180, duplicate and undefined sourcedIds), so a refused import has
written nothing. The second maps rows in batches and flushes, a module per file:
`orgs` (orgs.csv, classes.csv), `periods` (academicSessions.csv), `users` and
`students` (users.csv), `enrollments` and `caseloads` (enrollments.csv); `run` holds
what they share. The caller owns the transaction, which is how a dry run is rolled
back. Student names, birth dates and demographics are never read from the files, so
they cannot reach the database.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import Integer, literal, select
from sqlalchemy.orm import Session

from goalpath.audit.service import AuditBatch, AuditTrail
from goalpath.authz.actor import Actor
from goalpath.authz.service import Bindings
from goalpath.db import Database
from goalpath.errors import Forbidden
from goalpath.models import Program, Role, SchoolDistrict
from goalpath.rosters.enrollments import import_enrollments
from goalpath.rosters.orgs import import_classes, import_orgs
from goalpath.rosters.periods import import_sessions
from goalpath.rosters.reader import Problem, RosterRefused, RosterSet, read_manifest
from goalpath.rosters.run import (
    BATCH,
    KINDS,
    ImportOptions,
    ImportRun,
    ImportSummary,
    Progress,
)
from goalpath.rosters.users import import_users
from goalpath.rosters.validation import ignored_files, validate

__all__ = [
    "KINDS",
    "ImportOptions",
    "ImportSummary",
    "Progress",
    "authorize_import",
    "import_roster",
    "import_roster_in",
    "preview_roster",
]


def authorize_import(actor: Actor, id_school_district: int) -> None:
    """May this person import a roster into the district? They must be able to change
    the district (404 when they cannot even read it, 403 when they only read it) and
    to create its staff accounts, programs and students: a district administrator of
    that district, or a system administrator. Refusals are audited.

    The command line has no such check: it is run by whoever operates the server, who
    holds the database already."""
    actor.authz.fetch(SchoolDistrict, id_school_district, "school_district", "update")
    actor.authz.require_can(
        "user",
        "create",
        Bindings(id_user=literal(0), id_school_district=literal(id_school_district, Integer)),
    )
    for resource in ("program", "student"):
        if not actor.grants.allows(resource, "create"):
            actor.authz.deny("create", resource, None, None, "forbidden")
            raise Forbidden(f"You may not create {resource}s, which a roster import does.")


def import_roster(
    session: Session,
    path: Path,
    options: ImportOptions,
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the set at PATH into the district; raises RosterRefused on a structural
    error before anything is written."""
    if session.get(SchoolDistrict, options.id_school_district) is None:
        raise RosterRefused(
            Problem("--district", None, None, f"no district {options.id_school_district}")
        )
    if options.id_program is not None:
        program = session.get(Program, options.id_program)
        if program is None or program.id_school_district != options.id_school_district:
            raise RosterRefused(
                Problem("--program", None, None, f"no program {options.id_program} in the district")
            )
    id_role: int | None = None
    if options.staff_role is not None:
        id_role = session.scalars(
            select(Role.id_role).where(Role.name == options.staff_role)
        ).first()
        if id_role is None:
            raise RosterRefused(
                Problem("--staff-role", None, None, f"no role {options.staff_role!r}")
            )

    roster = RosterSet(path)
    try:
        manifest = read_manifest(roster)
        summary = ImportSummary(import_id=f"roster-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}")
        summary.notes.extend(ignored_files(roster, manifest))
        catalog = validate(session, roster, manifest, options.id_school_district, progress)
        run = ImportRun(
            session=session,
            roster=roster,
            manifest=manifest,
            options=options,
            id_role=id_role,
            catalog=catalog,
            summary=summary,
            audit=AuditBatch(AuditTrail(session, id_user=None, ip=None, now=now), size=BATCH),
            now=now,
            progress=progress,
        )
        _import_files(run)
    finally:
        roster.close()
    return summary


def _import_files(run: ImportRun) -> None:
    """The second pass: the files in the order their references need, then the
    import's own audit row."""
    import_orgs(run)
    import_sessions(run)
    import_classes(run)
    import_users(run)
    import_enrollments(run)
    run.audit.record(
        "import",
        "roster",
        record_id=run.summary.import_id,
        details={
            "import": run.summary.import_id,
            **run.summary.as_dict(),
            "errors": len(run.summary.errors),
        },
    )
    run.audit.flush()


def preview_roster(
    session: Session, path: Path, options: ImportOptions, *, now: datetime
) -> ImportSummary:
    """What importing would change, changing nothing: the import on the caller's
    session inside a savepoint that is rolled back, so that the upload page's dry run
    needs no connection besides the request's."""
    with session.begin_nested() as dry_run:
        summary = import_roster(session, path, options, now=now)
        # The dry run's own end, not a refusal: the request goes on and commits what
        # it writes after (the preview's audit row).
        dry_run.rollback()
    return summary


class _RolledBack(Exception):
    """Leaves a dry run's transaction through the session scope's rollback."""


def import_roster_in(
    database: Database,
    path: Path,
    options: ImportOptions,
    *,
    now: datetime,
    dry_run: bool,
    progress: Progress | None = None,
) -> ImportSummary:
    """The import in a transaction of its own, committed, or rolled back whole for a dry
    run: the command line's. The upload page, which has the request's transaction,
    previews with `preview_roster`."""
    summary: ImportSummary | None = None
    try:
        with database.session_scope(writes=True) as session:
            summary = import_roster(session, path, options, now=now, progress=progress)
            if dry_run:
                raise _RolledBack
    except _RolledBack:
        pass
    assert summary is not None
    return summary
