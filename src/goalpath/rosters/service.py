"""The roster import: OneRoster CSV into programs, staff accounts and students
(SPEC section 15; the mapping is in docs/rosters.md).

Two passes over the files. The first only reads: it checks structure (headers, RFC
4180, duplicate and undefined sourcedIds), so a refused import has written nothing. The
second maps rows in batches and flushes; the caller owns the transaction, which is how a
dry run is rolled back. Student names, birth dates and demographics are never read from
the files, so they cannot reach the database.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Integer, delete, func, insert, literal, select, text, tuple_, update
from sqlalchemy.orm import Session, aliased

from goalpath.audit.service import AuditBatch, AuditTrail
from goalpath.auth.sessions import revoke_user_sessions
from goalpath.authz.actor import Actor
from goalpath.authz.service import Bindings
from goalpath.db import Database
from goalpath.errors import Forbidden, ValidationFailed
from goalpath.models import (
    Program,
    ReportPeriod,
    Role,
    RosterEnrollment,
    RosterSource,
    SchoolDistrict,
    Student,
    User,
    UserProgram,
    UserStudent,
)
from goalpath.progress_reports.periods import MAX_NAME_LENGTH, MAX_YEAR, MIN_YEAR
from goalpath.rosters.reader import (
    COLUMNS,
    HANDLED,
    REQUIRED,
    Manifest,
    Problem,
    RosterRefused,
    RosterSet,
    Row,
    read_manifest,
    read_rows,
)
from goalpath.users.service import normalise_email

BATCH = 500
# Classes whose rosters are read at once to make caseload links (about 30 rows each).
CLASS_BATCH = 100
# Chunks between two refreshes of PostgreSQL's statistics (see _Importer._analyze).
ANALYZE_EVERY = 20
_ANALYZE = 'ANALYZE roster_source, roster_enrollment, student, "user", user_program, user_student'
_LINK_FIELDS = ["access_level", "id_student", "id_user", "is_primary"]
KINDS = ("programs", "staff", "students", "assignments", "periods")
STAFF_ROLES = frozenset(
    {"teacher", "aide", "administrator", "districtAdministrator", "siteAdministrator"}
)
IDENTIFIER_MAX = 50
NAME_MAX = 255
_GRADE = re.compile(r"^\d{1,2}$")
PERIOD_TYPES = frozenset({"gradingPeriod", "term"})
_SCHOOL_YEAR = re.compile(r"^\d{4}$")
# "Trimester 1" -> "T1", "Marking Period 2" -> "MP2": the usual long titles, shortened
# the way staff already say them, before a plain cut to the column's 10 characters.
_NUMBERED_TITLE = re.compile(r"^([A-Za-z]+(?: [A-Za-z]+)?) ?(\d{1,2})$")
# roster_source.kind for the OneRoster records each reference may point at.
_ORG_KINDS = ("program", "org")
_USER_KINDS = ("staff", "student")

T = TypeVar("T")


@dataclass(frozen=True)
class ImportOptions:
    id_school_district: int
    id_program: int | None = None
    staff_role: str | None = None
    caseloads_from_classes: bool = False


@dataclass
class ImportSummary:
    import_id: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    deactivated: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": {kind: self.created[kind] for kind in KINDS},
            "updated": {kind: self.updated[kind] for kind in KINDS},
            "deactivated": {kind: self.deactivated[kind] for kind in KINDS},
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


# Told after each chunk: the file, its rows done so far, and its row count when known
# (the first pass counts them; while it runs the count is not known yet).
Progress = Callable[[str, int, int | None], None]


def _chunks(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass
class _Catalog:
    """What the first pass learns and the second needs; ids only, never row contents."""

    org_types: dict[str, str] = field(default_factory=dict)
    # OneRoster 1.2 keeps a user's role and schools in roles.csv, not users.csv.
    user_roles: dict[str, str] = field(default_factory=dict)
    user_orgs: dict[str, list[str]] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)


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
        summary.notes.extend(_ignored_files(roster, manifest))
        catalog = _validate(session, roster, manifest, options.id_school_district, progress)
        importer = _Importer(
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
        importer.run()
    finally:
        roster.close()
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
    run, so the command line and the upload page preview the same way."""
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


def _ignored_files(roster: RosterSet, manifest: Manifest) -> list[str]:
    notes = []
    for name in roster.names():
        stem = name.removesuffix(".csv")
        if name == "manifest.csv" or (stem in HANDLED and stem in manifest.files):
            continue
        if stem == "demographics":
            notes.append("ignored demographics.csv: demographics are never stored")
        elif stem in HANDLED:
            notes.append(f"ignored {name}: the manifest marks it absent")
        else:
            notes.append(f"ignored {name}: not used by Goalpath")
    return notes


def _columns(manifest: Manifest, stem: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return COLUMNS[manifest.version][stem], REQUIRED[manifest.version][stem]


def _rows(roster: RosterSet, manifest: Manifest, stem: str) -> Iterator[Row]:
    if stem not in manifest.files or stem not in COLUMNS[manifest.version]:
        return iter(())
    allowed, required = _columns(manifest, stem)
    return read_rows(roster, f"{stem}.csv", allowed=allowed, required=required)


# Per file, the columns that name other records and which file defines them.
_REFERENCES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "orgs": (("parentSourcedId", "orgs", False),),
    "academicSessions": (("parentSourcedId", "academicSessions", False),),
    "classes": (("schoolSourcedId", "orgs", False), ("termSourcedIds", "academicSessions", True)),
    "roles": (("userSourcedId", "users", False), ("orgSourcedId", "orgs", False)),
    "users": (("orgSourcedIds", "orgs", True), ("primaryOrgSourcedId", "orgs", False)),
    "enrollments": (
        ("classSourcedId", "classes", False),
        ("schoolSourcedId", "orgs", False),
        ("userSourcedId", "users", False),
    ),
}
_STORED_KINDS = {
    "orgs": _ORG_KINDS,
    "academicSessions": ("session",),
    "classes": ("class",),
    "users": _USER_KINDS,
}


def _validate(
    session: Session,
    roster: RosterSet,
    manifest: Manifest,
    id_school_district: int,
    progress: Progress | None,
) -> _Catalog:
    catalog = _Catalog()
    defined: dict[str, set[str]] = {stem: set() for stem in HANDLED}
    # First use of each reference not yet defined when it was read.
    pending: dict[str, dict[str, Problem]] = {stem: {} for stem in HANDLED}
    for stem in HANDLED:
        name = f"{stem}.csv"
        for count, row in enumerate(_rows(roster, manifest, stem), start=1):
            sourced_id = row.sourced_id
            if not sourced_id:
                raise RosterRefused(Problem(name, row.line, None, "no sourcedId"))
            if sourced_id in defined[stem]:
                raise RosterRefused(Problem(name, row.line, sourced_id, "duplicate sourcedId"))
            defined[stem].add(sourced_id)
            for column, target, is_list in _REFERENCES[stem]:
                values = _split(row.get(column)) if is_list else [row.get(column)]
                for value in values:
                    if value and value not in defined[target] and value not in pending[target]:
                        pending[target][value] = Problem(
                            name, row.line, sourced_id, f"{column} {value!r} is not defined"
                        )
            if stem == "orgs":
                catalog.org_types[sourced_id] = row.get("type")
            elif stem == "roles" and not row.to_be_deleted:
                user = row.get("userSourcedId")
                if row.get("roleType") == "primary" or user not in catalog.user_roles:
                    catalog.user_roles[user] = row.get("role")
                orgs = catalog.user_orgs.setdefault(user, [])
                if row.get("roleType") == "primary":
                    orgs.insert(0, row.get("orgSourcedId"))
                else:
                    orgs.append(row.get("orgSourcedId"))
            catalog.row_counts[stem] = count
            if progress is not None and count % BATCH == 0:
                progress(f"checking {name}", count, None)
    for target, references in pending.items():
        unresolved = dict(references)
        for value in list(unresolved):
            if value in defined[target]:
                del unresolved[value]
        kinds = _STORED_KINDS.get(target, ())
        for chunk in _chunks(list(unresolved)):
            known = session.scalars(
                select(RosterSource.sourced_id).where(
                    RosterSource.id_school_district == id_school_district,
                    RosterSource.kind.in_(kinds),
                    RosterSource.sourced_id.in_(chunk),
                )
            )
            for value in known:
                unresolved.pop(value, None)
        if unresolved:
            first = min(unresolved.values(), key=lambda problem: (problem.file, problem.line or 0))
            raise RosterRefused(first)
    return catalog


@dataclass
class _Importer:
    session: Session
    roster: RosterSet
    manifest: Manifest
    options: ImportOptions
    id_role: int | None
    catalog: _Catalog
    summary: ImportSummary
    audit: AuditBatch
    now: datetime
    progress: Progress | None
    school_programs: dict[str, int] = field(default_factory=dict)
    # roster_source rows not yet written: inserted with one executemany per chunk.
    pending_sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def district(self) -> int:
        return self.options.id_school_district

    def run(self) -> None:
        self._import_orgs()
        self._import_sessions()
        self._import_classes()
        self._import_users()
        self._import_enrollments()
        self.audit.record(
            "import",
            "roster",
            record_id=self.summary.import_id,
            details={
                "import": self.summary.import_id,
                **self.summary.as_dict(),
                "errors": len(self.summary.errors),
            },
        )
        self.audit.flush()

    # -- helpers -----------------------------------------------------------------------

    def _mapped(self, kinds: tuple[str, ...], sourced_ids: list[str]) -> dict[str, RosterSource]:
        if not sourced_ids:
            return {}
        return {
            source.sourced_id: source
            for source in self.session.scalars(
                select(RosterSource).where(
                    RosterSource.id_school_district == self.district,
                    RosterSource.kind.in_(kinds),
                    RosterSource.sourced_id.in_(sourced_ids),
                )
            )
        }

    def _record_ids(self, kind: str, sourced_ids: Iterable[str]) -> dict[str, int]:
        """sourcedId -> record id of the district's records of one kind, read in chunks."""
        found: dict[str, int] = {}
        for chunk in _chunks(sorted(set(sourced_ids))):
            found.update(
                (sourced_id, record_id)
                for sourced_id, record_id in self.session.execute(
                    select(RosterSource.sourced_id, RosterSource.record_id).where(
                        RosterSource.id_school_district == self.district,
                        RosterSource.kind == kind,
                        RosterSource.sourced_id.in_(chunk),
                        RosterSource.record_id.is_not(None),
                    )
                )
                if record_id is not None
            )
        return found

    def _remember(self, kind: str, sourced_id: str, record_id: int | None) -> None:
        self.pending_sources.append(
            {
                "id_school_district": self.district,
                "kind": kind,
                "sourced_id": sourced_id,
                "record_id": record_id,
            }
        )

    def _flush(self) -> None:
        """Changed ORM rows, then the sourcedIds remembered since the last flush."""
        self.session.flush()
        if self.pending_sources:
            self.session.execute(insert(RosterSource), self.pending_sources)
            self.pending_sources = []

    def _record(
        self,
        action: str,
        resource: str,
        record_id: int,
        fields: list[str],
        *,
        id_student: int | None = None,
        **extra: object,
    ) -> None:
        self.audit.record(
            action,
            resource,
            record_id=record_id,
            id_student=id_student,
            details={"fields": sorted(fields), "import": self.summary.import_id, **extra},
        )

    def _error(self, stem: str, row: Row, problem: str) -> None:
        self.summary.errors.append(Problem(f"{stem}.csv", row.line, row.sourced_id, problem))

    def _chunks_of(self, stem: str) -> Iterator[list[Row]]:
        """The file's rows in chunks, the progress told after each."""
        count = 0
        total = self.catalog.row_counts.get(stem)
        for number, chunk in enumerate(_chunks(_rows(self.roster, self.manifest, stem)), 1):
            yield chunk
            count += len(chunk)
            if self.progress is not None:
                self.progress(f"{stem}.csv", count, total)
            if number % ANALYZE_EVERY == 0:
                self._analyze()
        self._analyze()

    def _analyze(self) -> None:
        """PostgreSQL plans each lookup from table statistics, which autovacuum cannot
        refresh while this transaction's rows are uncommitted: the tables would still
        look empty, and every chunk's lookup would scan them whole. ANALYZE in the
        transaction counts its own rows."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.flush()
            self.session.execute(text(_ANALYZE))

    # -- orgs, sessions, classes -------------------------------------------------------

    def _import_orgs(self) -> None:
        for chunk in self._chunks_of("orgs"):
            mapped = self._mapped(_ORG_KINDS, [row.sourced_id for row in chunk])
            programs = {
                program.id_program: program
                for program in self.session.scalars(
                    select(Program).where(
                        Program.id_program.in_(
                            [s.record_id for s in mapped.values() if s.kind == "program"]
                        )
                    )
                )
            }
            for row in chunk:
                self._import_org(row, mapped.get(row.sourced_id), programs)
            self._flush()
        self.school_programs = {
            source.sourced_id: source.record_id
            for source in self.session.scalars(
                select(RosterSource).where(
                    RosterSource.id_school_district == self.district,
                    RosterSource.kind == "program",
                )
            )
            if source.record_id is not None
        }

    def _import_org(
        self, row: Row, source: RosterSource | None, programs: dict[int, Program]
    ) -> None:
        if row.get("type") != "school":
            if source is None:
                record = self.district if row.get("type") == "district" else None
                self._remember("org", row.sourced_id, record)
            return
        name = row.get("name")
        if len(name) > NAME_MAX:
            self._error("orgs", row, f"name over {NAME_MAX} characters")
            return
        if source is not None and source.record_id in programs:
            program = programs[source.record_id]
            if self.options.id_program is not None or row.to_be_deleted or program.name == name:
                # Programs are never deleted, and --program keeps its own name.
                self.summary.unchanged += 1
                return
            program.name = name
            self._record("update", "program", program.id_program, ["name"])
            self.summary.updated["programs"] += 1
            return
        if row.to_be_deleted:
            return
        if self.options.id_program is not None:
            self._remember("program", row.sourced_id, self.options.id_program)
            return
        program = Program(id_school_district=self.district, name=name or None)
        self.session.add(program)
        self.session.flush()
        self._remember("program", row.sourced_id, program.id_program)
        self._record("create", "program", program.id_program, ["id_school_district", "name"])
        self.summary.created["programs"] += 1

    def _import_sessions(self) -> None:
        """gradingPeriod and term sessions become the district's report periods; other
        sessions are only remembered, so classes may refer to them."""
        periods = {
            (period.year, period.name): period
            for period in self.session.scalars(
                select(ReportPeriod).where(ReportPeriod.id_school_district == self.district)
            )
        }
        by_id = {period.id_report_period: period for period in periods.values()}
        for chunk in self._chunks_of("academicSessions"):
            mapped = self._mapped(("session",), [row.sourced_id for row in chunk])
            for row in chunk:
                source = mapped.get(row.sourced_id)
                if row.get("type") not in PERIOD_TYPES:
                    if source is None:
                        self._remember("session", row.sourced_id, None)
                    continue
                existing = by_id.get(source.record_id) if source and source.record_id else None
                if row.to_be_deleted:
                    # Reports may name the period; it stays, as programs do.
                    if existing is not None:
                        self.summary.unchanged += 1
                    continue
                values = self._period_values(row)
                if values is None:
                    continue
                taken = periods.get((values["year"], values["name"]))
                if taken is not None and taken is not existing:
                    self._error(
                        "academicSessions",
                        row,
                        f"report period {values['name']!r} of school year {values['year']} "
                        "comes from another session",
                    )
                    continue
                if existing is None:
                    period = ReportPeriod(id_school_district=self.district, **values)
                    self.session.add(period)
                    self.session.flush()
                    periods[(period.year, period.name)] = period
                    by_id[period.id_report_period] = period
                    if source is None:
                        self._remember("session", row.sourced_id, period.id_report_period)
                    else:
                        source.record_id = period.id_report_period
                    self._record(
                        "create",
                        "report_period",
                        period.id_report_period,
                        ["id_school_district", *values],
                    )
                    self.summary.created["periods"] += 1
                    continue
                changed = [key for key, value in values.items() if getattr(existing, key) != value]
                if not changed:
                    self.summary.unchanged += 1
                    continue
                periods.pop((existing.year, existing.name), None)
                for key in changed:
                    setattr(existing, key, values[key])
                periods[(existing.year, existing.name)] = existing
                self._record("update", "report_period", existing.id_report_period, changed)
                self.summary.updated["periods"] += 1
            self._flush()

    def _period_values(self, row: Row) -> dict[str, Any] | None:
        school_year = row.get("schoolYear")
        if not _SCHOOL_YEAR.match(school_year) or not (MIN_YEAR < int(school_year) <= MAX_YEAR + 1):
            self._error("academicSessions", row, "schoolYear is not a year such as 2027")
            return None
        try:
            starts_on = date.fromisoformat(row.get("startDate"))
            ends_on = date.fromisoformat(row.get("endDate"))
        except ValueError:
            self._error("academicSessions", row, "startDate or endDate is not a date")
            return None
        if ends_on < starts_on:
            self._error("academicSessions", row, "ends before it starts")
            return None
        name = period_name(row.get("title"))
        if not name:
            self._error("academicSessions", row, "no title")
            return None
        # OneRoster names a school year by the year it ends; reports by the one it starts.
        return {
            "year": int(school_year) - 1,
            "name": name,
            "starts_on": starts_on,
            "ends_on": ends_on,
        }

    def _import_classes(self) -> None:
        for chunk in self._chunks_of("classes"):
            mapped = self._mapped(("class",), [row.sourced_id for row in chunk])
            for row in chunk:
                program = self._program_of([row.get("schoolSourcedId")])
                source = mapped.get(row.sourced_id)
                if source is None:
                    self._remember("class", row.sourced_id, program)
                elif source.record_id != program and program is not None:
                    source.record_id = program
            self._flush()

    def _program_of(self, orgs: list[str]) -> int | None:
        if self.options.id_program is not None:
            return self.options.id_program
        for org in orgs:
            if org in self.school_programs:
                return self.school_programs[org]
        return None

    # -- users -------------------------------------------------------------------------

    def _role(self, row: Row) -> str:
        if self.manifest.version == "1.1":
            return row.get("role")
        return self.catalog.user_roles.get(row.sourced_id, "")

    def _orgs(self, row: Row) -> list[str]:
        if self.manifest.version == "1.1":
            return _split(row.get("orgSourcedIds"))
        orgs = list(self.catalog.user_orgs.get(row.sourced_id, []))
        primary = row.get("primaryOrgSourcedId")
        return [primary, *orgs] if primary else orgs

    def _import_users(self) -> None:
        for chunk in self._chunks_of("users"):
            # A delta's tobedeleted row may carry nothing but its sourcedId.
            unnamed = [row for row in chunk if not self._role(row) and self._removed(row)]
            students = [row for row in chunk if self._role(row) == "student"] + unnamed
            staff = [row for row in chunk if self._role(row) in STAFF_ROLES] + unnamed
            if students:
                self._import_students(students)
            if staff:
                self._import_staff(staff)
            self._flush()

    @staticmethod
    def _removed(row: Row) -> bool:
        return row.to_be_deleted or row.get("enabledUser").lower() == "false"

    def _import_students(self, rows: list[Row]) -> None:
        mapped = self._mapped(("student",), [row.sourced_id for row in rows])
        known = {
            student.id_student: student
            for student in self.session.scalars(
                select(Student).where(
                    Student.id_student.in_([s.record_id for s in mapped.values()])
                )
            )
        }
        wanted = {
            (row.get("identifier") or row.get("username")).lower()
            for row in rows
            if not self._removed(row)
        }
        # Earlier chunks of this import are flushed, so this also sees their students.
        taken: dict[str, int] = dict(
            self.session.execute(
                select(func.lower(Student.identifier), Student.id_student)
                .join(Program, Program.id_program == Student.id_program)
                .where(
                    Program.id_school_district == self.district,
                    func.lower(Student.identifier).in_(wanted),
                )
            ).all()
        )
        # Identifiers given in this chunk, to the student (new or known) that has it.
        claimed: dict[str, Student] = {}
        created: list[tuple[str, Student, list[str]]] = []
        for row in rows:
            source = mapped.get(row.sourced_id)
            student = known.get(source.record_id) if source and source.record_id else None
            if self._removed(row):
                if student is not None:
                    self._withdraw(student)
                continue
            identifier = row.get("identifier") or row.get("username")
            if not identifier:
                self._error("users", row, "no identifier or username")
                continue
            if len(identifier) > IDENTIFIER_MAX:
                self._error("users", row, f"identifier over {IDENTIFIER_MAX} characters")
                continue
            key = identifier.lower()
            holder = claimed.get(key)
            owner = taken.get(key)
            if (holder is not None and holder is not student) or (
                holder is None
                and owner is not None
                and (student is None or owner != student.id_student)
            ):
                self._error(
                    "users", row, "identifier already used by another student of the district"
                )
                continue
            id_program = self._program_of(self._orgs(row))
            if id_program is None:
                self._error("users", row, "belongs to no school of the set")
                continue
            values = {
                "id_program": id_program,
                "identifier": identifier,
                "program_year": _program_year(row.get("grades")),
                "withdrawn_on": None,
            }
            if student is None:
                student = Student(**values)
                self.session.add(student)
                created.append(
                    (row.sourced_id, student, [k for k, v in values.items() if v is not None])
                )
                self.summary.created["students"] += 1
            else:
                self._update(student, values, "student", "students", student.id_student)
            claimed[key] = student
        if created:
            # One batched INSERT for the chunk's new students, their ids returned.
            self.session.flush()
        for sourced_id, student, fields in created:
            self._remember("student", sourced_id, student.id_student)
            self._record(
                "create", "student", student.id_student, fields, id_student=student.id_student
            )

    def _withdraw(self, student: Student) -> None:
        if student.withdrawn_on is not None:
            self.summary.unchanged += 1
            return
        student.withdrawn_on = self.now.date()
        self._record(
            "update",
            "student",
            student.id_student,
            ["withdrawn_on"],
            id_student=student.id_student,
        )
        self.summary.deactivated["students"] += 1

    def _update(
        self,
        record: Student | User,
        values: dict[str, object],
        resource: str,
        kind: str,
        record_id: int,
    ) -> None:
        changed = [key for key, value in values.items() if getattr(record, key) != value]
        if not changed:
            self.summary.unchanged += 1
            return
        for key in changed:
            setattr(record, key, values[key])
        id_student = record_id if resource == "student" else None
        self._record("update", resource, record_id, changed, id_student=id_student)
        self.summary.updated[kind] += 1

    def _import_staff(self, rows: list[Row]) -> None:
        mapped = self._mapped(("staff",), [row.sourced_id for row in rows])
        known = {
            user.id_user: user
            for user in self.session.scalars(
                select(User).where(User.id_user.in_([s.record_id for s in mapped.values()]))
            )
        }
        emails = {row.get("email").lower() for row in rows if row.get("email")}
        by_email = {
            user.email: user
            for user in self.session.scalars(select(User).where(User.email.in_(emails)))
            if user.email
        }
        already_mapped = set(
            self.session.scalars(
                select(RosterSource.record_id).where(
                    RosterSource.id_school_district == self.district,
                    RosterSource.kind == "staff",
                    RosterSource.record_id.in_([user.id_user for user in by_email.values()]),
                )
            )
        )
        # Emails a row of this chunk has already claimed (a new account has no id yet).
        claimed: set[str] = set()
        created: list[tuple[str, User, list[str], set[int]]] = []
        memberships: dict[int, set[int]] = {}
        for row in rows:
            source = mapped.get(row.sourced_id)
            user = known.get(source.record_id) if source and source.record_id else None
            if self._removed(row):
                if user is not None:
                    self._deactivate(user)
                continue
            try:
                email = normalise_email(row.get("email"))
            except ValidationFailed:
                self._error("users", row, "invalid email")
                continue
            name = " ".join(part for part in (row.get("givenName"), row.get("familyName")) if part)
            if len(name) > NAME_MAX:
                self._error("users", row, f"name over {NAME_MAX} characters")
                continue
            owner = by_email.get(email)
            if owner is not None and owner is not user:
                if owner.id_school_district_home != self.district:
                    self._error(
                        "users", row, "email already used by an account of another district"
                    )
                    continue
                if user is not None or email in claimed or owner.id_user in already_mapped:
                    self._error("users", row, "email already used by another account")
                    continue
                # An account made by hand before the first import is taken over, not doubled.
                user = owner
                self._remember("staff", row.sourced_id, user.id_user)
                already_mapped.add(user.id_user)
            claimed.add(email)
            values: dict[str, object] = {"email": email, "name": name or None}
            if self.id_role is not None and (user is None or user.id_role is None):
                values["id_role"] = self.id_role
            programs = self._programs_of(self._orgs(row))
            if user is None:
                user = User(id_school_district_home=self.district, **values)
                self.session.add(user)
                fields = [
                    "id_school_district_home",
                    *[k for k, v in values.items() if v is not None],
                ]
                created.append((row.sourced_id, user, fields, programs))
                self.summary.created["staff"] += 1
                by_email[email] = user
                continue
            self._update(user, values, "user", "staff", user.id_user)
            by_email[email] = user
            if programs:
                memberships.setdefault(user.id_user, set()).update(programs)
        if created:
            self.session.flush()
        for sourced_id, user, fields, programs in created:
            self._remember("staff", sourced_id, user.id_user)
            self._record("create", "user", user.id_user, fields)
            if programs:
                memberships.setdefault(user.id_user, set()).update(programs)
        self._add_memberships(memberships)

    def _deactivate(self, user: User) -> None:
        if user.deactivated_at is not None:
            self.summary.unchanged += 1
            return
        user.deactivated_at = self.now
        revoke_user_sessions(self.session, user.id_user, now=self.now, reason="roster_import")
        self._record("update", "user", user.id_user, ["deactivated_at"])
        self.summary.deactivated["staff"] += 1

    def _programs_of(self, orgs: list[str]) -> set[int]:
        if self.options.id_program is not None:
            return {self.options.id_program}
        return {self.school_programs[org] for org in orgs if org in self.school_programs}

    def _add_memberships(self, memberships: dict[int, set[int]]) -> None:
        if not memberships:
            return
        self.session.flush()
        existing = set(
            self.session.execute(
                select(UserProgram.id_user, UserProgram.id_program).where(
                    UserProgram.id_user.in_(list(memberships))
                )
            )
        )
        added = [
            UserProgram(id_user=id_user, id_program=id_program, status="active", joined_at=self.now)
            for id_user, programs in memberships.items()
            for id_program in sorted(programs)
            if (id_user, id_program) not in existing
        ]
        if not added:
            return
        self.session.add_all(added)
        self.session.flush()
        for membership in added:
            self._record(
                "create",
                "program_membership",
                membership.id_user_program,
                ["id_program", "id_user", "status"],
            )
        self.summary.created["assignments"] += len(added)

    # -- enrollments and caseloads -----------------------------------------------------

    def _import_enrollments(self) -> None:
        """Enrollments are kept (roster_enrollment) so that a later delta may name one by
        its sourcedId alone. One that goes (`tobedeleted`, or moved to another class or
        user) ends the caseload links it justified, unless another class still
        justifies them; with --caseloads-from-classes the classes of the file's
        enrollments get their links."""
        touched: set[str] = set()
        # (staff sourcedId, student sourcedId) pairs whose link may have lost its reason.
        doubtful: set[tuple[str, str]] = set()
        for chunk in self._chunks_of("enrollments"):
            stored = {
                sourced_id: (id_enrollment, (class_id, user_id, role))
                for id_enrollment, sourced_id, class_id, user_id, role in self.session.execute(
                    select(
                        RosterEnrollment.id_roster_enrollment,
                        RosterEnrollment.sourced_id,
                        RosterEnrollment.class_sourced_id,
                        RosterEnrollment.user_sourced_id,
                        RosterEnrollment.role,
                    ).where(
                        RosterEnrollment.id_school_district == self.district,
                        RosterEnrollment.sourced_id.in_([row.sourced_id for row in chunk]),
                    )
                )
            }
            added: list[dict[str, Any]] = []
            moved: list[dict[str, Any]] = []
            gone_ids: list[int] = []
            gone: list[tuple[str, str, str]] = []
            for row in chunk:
                before = stored.get(row.sourced_id)
                if row.to_be_deleted:
                    if before is not None:
                        gone_ids.append(before[0])
                        gone.append(before[1])
                    continue
                now = (row.get("classSourcedId"), row.get("userSourcedId"), row.get("role"))
                if not all(now):
                    self._error("enrollments", row, "no classSourcedId, userSourcedId or role")
                    continue
                if self.options.caseloads_from_classes:
                    touched.add(now[0])
                values = {"class_sourced_id": now[0], "user_sourced_id": now[1], "role": now[2]}
                if before is None:
                    added.append(
                        {"id_school_district": self.district, "sourced_id": row.sourced_id} | values
                    )
                elif before[1] != now:
                    moved.append({"id_roster_enrollment": before[0]} | values)
                    gone.append(before[1])
            # Read the classes' rosters before the chunk's changes, to know whom a gone
            # enrollment linked.
            doubtful.update(self._pairs_of(gone))
            if gone_ids:
                self.session.execute(
                    delete(RosterEnrollment).where(
                        RosterEnrollment.id_roster_enrollment.in_(gone_ids)
                    )
                )
            if moved:
                self.session.execute(update(RosterEnrollment), moved)
            if added:
                self.session.execute(insert(RosterEnrollment), added)
        if doubtful:
            self._end_caseloads(doubtful)
        if touched:
            self._make_caseloads(touched)

    def _pairs_of(self, gone: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
        """The (staff, student) pairs that the gone enrollments were part of."""
        pairs: set[tuple[str, str]] = set()
        classes = sorted({class_id for class_id, _user, _role in gone})
        for chunk in _chunks(classes):
            rosters = self._rosters(chunk)
            for class_id, user_id, role in gone:
                if class_id not in rosters:
                    continue
                staff, students = rosters[class_id]
                if role == "student":
                    pairs.update((teacher, user_id) for teacher in staff)
                else:
                    pairs.update((user_id, student) for student in students)
        return pairs

    def _rosters(self, classes: list[str]) -> dict[str, tuple[set[str], set[str]]]:
        """Each stored class's staff and students (sourcedIds)."""
        rosters: dict[str, tuple[set[str], set[str]]] = {}
        for class_id, user_id, role in self.session.execute(
            select(
                RosterEnrollment.class_sourced_id,
                RosterEnrollment.user_sourced_id,
                RosterEnrollment.role,
            ).where(
                RosterEnrollment.id_school_district == self.district,
                RosterEnrollment.class_sourced_id.in_(classes),
            )
        ):
            staff, students = rosters.setdefault(class_id, (set(), set()))
            (students if role == "student" else staff).add(user_id)
        return rosters

    def _end_caseloads(self, doubtful: set[tuple[str, str]]) -> None:
        """Links this import's enrollments no longer justify, and that an import made
        (a link made by hand is never touched), are deleted: the data model has no end
        date for a link, and its deletion is in the audit trail."""
        staff_of = aliased(RosterEnrollment)
        pupil_of = aliased(RosterEnrollment)
        for chunk in _chunks(sorted(doubtful)):
            still: set[tuple[str, str]] = set(
                self.session.execute(
                    select(staff_of.user_sourced_id, pupil_of.user_sourced_id)
                    .join(
                        pupil_of,
                        (pupil_of.id_school_district == staff_of.id_school_district)
                        & (pupil_of.class_sourced_id == staff_of.class_sourced_id),
                    )
                    .where(
                        staff_of.id_school_district == self.district,
                        staff_of.role != "student",
                        pupil_of.role == "student",
                        tuple_(staff_of.user_sourced_id, pupil_of.user_sourced_id).in_(chunk),
                    )
                    .distinct()
                )
            )
            ended = [pair for pair in chunk if pair not in still]
            staff = self._record_ids("staff", (user for user, _ in ended))
            students = self._record_ids("student", (student for _, student in ended))
            pairs = {
                (staff[user], students[student])
                for user, student in ended
                if user in staff and student in students
            }
            if pairs:
                self._unlink(pairs)

    def _unlink(self, pairs: set[tuple[int, int]]) -> None:
        marks = self._mapped(("caseload",), [_caseload_key(*pair) for pair in pairs])
        links = [
            (id_link, id_user, id_student)
            for id_link, id_user, id_student in self.session.execute(
                select(
                    UserStudent.id_user_student, UserStudent.id_user, UserStudent.id_student
                ).where(UserStudent.id_student.in_(sorted({student for _, student in pairs})))
            )
            if (id_user, id_student) in pairs
        ]
        ended: list[int] = []
        for id_link, id_user, id_student in links:
            mark = marks.get(_caseload_key(id_user, id_student))
            if mark is None or mark.record_id != id_link:
                continue
            ended.append(id_link)
            self.session.delete(mark)
            self._record(
                "delete",
                "student_access",
                id_link,
                _LINK_FIELDS,
                id_student=id_student,
                id_user=id_user,
            )
        if ended:
            self.session.flush()
            self.session.execute(delete(UserStudent).where(UserStudent.id_user_student.in_(ended)))
            self.summary.deactivated["assignments"] += len(ended)

    def _make_caseloads(self, touched: set[str]) -> None:
        """Teachers and aides of a class read its students (access level read)."""
        for classes in _chunks(sorted(touched), CLASS_BATCH):
            rosters = self._rosters(classes)
            staff = self._record_ids("staff", (u for s, _ in rosters.values() for u in s))
            students = self._record_ids("student", (u for _, p in rosters.values() for u in p))
            pairs = {
                (staff[teacher], students[pupil])
                for teachers, pupils in rosters.values()
                for teacher in teachers
                if teacher in staff
                for pupil in pupils
                if pupil in students
            }
            for batch in _chunks(sorted(pairs)):
                self._link(batch)
            self._flush()

    def _link(self, pairs: list[tuple[int, int]]) -> None:
        # Looked up by student (an index), not by pair: a row-value IN is a full scan on
        # SQLite.
        existing = {
            (id_user, id_student)
            for id_user, id_student in self.session.execute(
                select(UserStudent.id_user, UserStudent.id_student).where(
                    UserStudent.id_student.in_(sorted({student for _, student in pairs}))
                )
            )
        }
        wanted = [
            {
                "id_user": id_user,
                "id_student": id_student,
                "access_level": "read",
                "is_primary": False,
            }
            for id_user, id_student in pairs
            if (id_user, id_student) not in existing
        ]
        if not wanted:
            return
        # One batched INSERT, the new ids returned in the order of the rows.
        created = self.session.execute(
            insert(UserStudent).returning(
                UserStudent.id_user_student,
                UserStudent.id_user,
                UserStudent.id_student,
                sort_by_parameter_order=True,
            ),
            wanted,
        ).all()
        # A mark left by a link deleted by hand since is pointed at the new link.
        marks = self._mapped(
            ("caseload",),
            [_caseload_key(id_user, id_student) for _, id_user, id_student in created],
        )
        for id_link, id_user, id_student in created:
            key = _caseload_key(id_user, id_student)
            if key in marks:
                marks[key].record_id = id_link
            else:
                self._remember("caseload", key, id_link)
            self._record("create", "student_access", id_link, _LINK_FIELDS, id_student=id_student)
        self.summary.created["assignments"] += len(created)


def _caseload_key(id_user: int | None, id_student: int | None) -> str:
    """roster_source.sourced_id of a caseload link an import made: links come from
    pairs of enrollments, so they have no sourcedId of their own."""
    return f"{id_user}:{id_student}"


def period_name(title: str) -> str:
    """A session's title as a report's `period` (at most 10 characters): spaces
    collapsed; a title over 10 characters that ends in a number by its initials
    ("Trimester 1" -> "T1", "Grading Period 3" -> "GP3"); anything else still too long
    is cut."""
    name = " ".join(title.split())
    if len(name) <= MAX_NAME_LENGTH:
        return name
    numbered = _NUMBERED_TITLE.match(name)
    if numbered is not None:
        initials = "".join(word[0] for word in numbered.group(1).split()).upper()
        return f"{initials}{numbered.group(2)}"
    return name[:MAX_NAME_LENGTH].rstrip()


def _program_year(grades: str) -> int | None:
    """Numeric grades 01 to 12 give the year; KG, PK and the like leave it empty."""
    for grade in _split(grades):
        if _GRADE.match(grade) and 1 <= int(grade) <= 12:
            return int(grade)
        return None
    return None
