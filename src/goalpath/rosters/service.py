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

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from goalpath.audit.service import AuditTrail
from goalpath.auth.sessions import revoke_user_sessions
from goalpath.db import Database
from goalpath.errors import ValidationFailed
from goalpath.models import (
    Program,
    ReportPeriod,
    Role,
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


Progress = Callable[[str, int], None]


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
            audit=AuditTrail(session, id_user=None, ip=None, now=now),
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
            if progress is not None and count % BATCH == 0:
                progress(f"checking {name}", count)
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
    audit: AuditTrail
    now: datetime
    progress: Progress | None
    school_programs: dict[str, int] = field(default_factory=dict)
    # Lower-cased identifiers given to a student earlier in this import.
    identifiers: dict[str, int] = field(default_factory=dict)

    @property
    def district(self) -> int:
        return self.options.id_school_district

    def run(self) -> None:
        self._import_orgs()
        self._import_sessions()
        self._import_classes()
        self._import_users()
        if self.options.caseloads_from_classes:
            self._import_caseloads()
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

    def _remember(self, kind: str, sourced_id: str, record_id: int | None) -> None:
        self.session.add(
            RosterSource(
                id_school_district=self.district,
                kind=kind,
                sourced_id=sourced_id,
                record_id=record_id,
            )
        )

    def _record(
        self,
        action: str,
        resource: str,
        record_id: int,
        fields: list[str],
        *,
        id_student: int | None = None,
    ) -> None:
        self.audit.record(
            action,
            resource,
            record_id=record_id,
            id_student=id_student,
            details={"fields": sorted(fields), "import": self.summary.import_id},
        )

    def _error(self, stem: str, row: Row, problem: str) -> None:
        self.summary.errors.append(Problem(f"{stem}.csv", row.line, row.sourced_id, problem))

    def _tick(self, name: str, count: int) -> None:
        if self.progress is not None:
            self.progress(name, count)

    # -- orgs, sessions, classes -------------------------------------------------------

    def _import_orgs(self) -> None:
        count = 0
        for chunk in _chunks(_rows(self.roster, self.manifest, "orgs")):
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
            self.session.flush()
            count += len(chunk)
            self._tick("orgs.csv", count)
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
        for chunk in _chunks(_rows(self.roster, self.manifest, "academicSessions")):
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
            self.session.flush()

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
        for chunk in _chunks(_rows(self.roster, self.manifest, "classes")):
            mapped = self._mapped(("class",), [row.sourced_id for row in chunk])
            for row in chunk:
                program = self._program_of([row.get("schoolSourcedId")])
                source = mapped.get(row.sourced_id)
                if source is None:
                    self._remember("class", row.sourced_id, program)
                elif source.record_id != program and program is not None:
                    source.record_id = program
            self.session.flush()

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
        count = 0
        for chunk in _chunks(_rows(self.roster, self.manifest, "users")):
            # A delta's tobedeleted row may carry nothing but its sourcedId.
            unnamed = [row for row in chunk if not self._role(row) and self._removed(row)]
            students = [row for row in chunk if self._role(row) == "student"] + unnamed
            staff = [row for row in chunk if self._role(row) in STAFF_ROLES] + unnamed
            if students:
                self._import_students(students)
            if staff:
                self._import_staff(staff)
            self.session.flush()
            count += len(chunk)
            self._tick("users.csv", count)

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
        for row in rows:
            source = mapped.get(row.sourced_id)
            student = known.get(source.record_id) if source and source.record_id else None
            if self._removed(row):
                if student is None:
                    continue
                if student.withdrawn_on is None:
                    student.withdrawn_on = self.now.date()
                    self._record(
                        "update",
                        "student",
                        student.id_student,
                        ["withdrawn_on"],
                        id_student=student.id_student,
                    )
                    self.summary.deactivated["students"] += 1
                else:
                    self.summary.unchanged += 1
                continue
            identifier = row.get("identifier") or row.get("username")
            if not identifier:
                self._error("users", row, "no identifier or username")
                continue
            if len(identifier) > IDENTIFIER_MAX:
                self._error("users", row, f"identifier over {IDENTIFIER_MAX} characters")
                continue
            owner = self.identifiers.get(identifier.lower(), taken.get(identifier.lower()))
            if owner is not None and (student is None or owner != student.id_student):
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
                self.session.flush()
                self._remember("student", row.sourced_id, student.id_student)
                self._record(
                    "create",
                    "student",
                    student.id_student,
                    [key for key, value in values.items() if value is not None],
                    id_student=student.id_student,
                )
                self.summary.created["students"] += 1
            else:
                changed = [key for key, value in values.items() if getattr(student, key) != value]
                if changed:
                    for key in changed:
                        setattr(student, key, values[key])
                    self._record(
                        "update",
                        "student",
                        student.id_student,
                        changed,
                        id_student=student.id_student,
                    )
                    self.summary.updated["students"] += 1
                else:
                    self.summary.unchanged += 1
            self.identifiers[identifier.lower()] = student.id_student

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
        memberships: dict[int, set[int]] = {}
        for row in rows:
            source = mapped.get(row.sourced_id)
            user = known.get(source.record_id) if source and source.record_id else None
            if self._removed(row):
                if user is None:
                    continue
                if user.deactivated_at is None:
                    user.deactivated_at = self.now
                    revoke_user_sessions(
                        self.session, user.id_user, now=self.now, reason="roster_import"
                    )
                    self._record("update", "user", user.id_user, ["deactivated_at"])
                    self.summary.deactivated["staff"] += 1
                else:
                    self.summary.unchanged += 1
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
            if owner is not None and (user is None or owner.id_user != user.id_user):
                if owner.id_school_district_home != self.district:
                    self._error(
                        "users", row, "email already used by an account of another district"
                    )
                    continue
                if user is not None or owner.id_user in already_mapped:
                    self._error("users", row, "email already used by another account")
                    continue
                # An account made by hand before the first import is taken over, not doubled.
                user = owner
                self._remember("staff", row.sourced_id, user.id_user)
                already_mapped.add(user.id_user)
            values: dict[str, object] = {"email": email, "name": name or None}
            if self.id_role is not None and (user is None or user.id_role is None):
                values["id_role"] = self.id_role
            if user is None:
                user = User(id_school_district_home=self.district, **values)
                self.session.add(user)
                self.session.flush()
                self._remember("staff", row.sourced_id, user.id_user)
                self._record(
                    "create",
                    "user",
                    user.id_user,
                    ["id_school_district_home", *[k for k, v in values.items() if v is not None]],
                )
                self.summary.created["staff"] += 1
            else:
                changed = [key for key, value in values.items() if getattr(user, key) != value]
                if changed:
                    for key in changed:
                        setattr(user, key, values[key])
                    self._record("update", "user", user.id_user, changed)
                    self.summary.updated["staff"] += 1
                else:
                    self.summary.unchanged += 1
            by_email[email] = user
            programs = self._programs_of(self._orgs(row))
            if programs:
                memberships.setdefault(user.id_user, set()).update(programs)
        self._add_memberships(memberships)

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
        for id_user, programs in memberships.items():
            for id_program in sorted(programs):
                if (id_user, id_program) in existing:
                    continue
                membership = UserProgram(
                    id_user=id_user, id_program=id_program, status="active", joined_at=self.now
                )
                self.session.add(membership)
                self.session.flush()
                self._record(
                    "create",
                    "program_membership",
                    membership.id_user_program,
                    ["id_program", "id_user", "status"],
                )
                self.summary.created["assignments"] += 1

    # -- caseloads ---------------------------------------------------------------------

    def _import_caseloads(self) -> None:
        """Teachers and aides of a class read its students (access level read)."""
        teachers: dict[str, set[str]] = {}
        pupils: dict[str, set[str]] = {}
        for row in _rows(self.roster, self.manifest, "enrollments"):
            if row.to_be_deleted:
                continue
            target = pupils if row.get("role") == "student" else teachers
            target.setdefault(row.get("classSourcedId"), set()).add(row.get("userSourcedId"))
        users: dict[str, int] = {}
        for stem_kind in ("staff", "student"):
            wanted = {
                user
                for group in (teachers if stem_kind == "staff" else pupils).values()
                for user in group
            }
            for chunk in _chunks(sorted(wanted)):
                for source in self._mapped((stem_kind,), chunk).values():
                    if source.record_id is not None:
                        users[f"{stem_kind}:{source.sourced_id}"] = source.record_id
        pairs: set[tuple[int, int]] = set()
        for class_id, staff in teachers.items():
            staff_ids = [users[f"staff:{s}"] for s in staff if f"staff:{s}" in users]
            student_ids = [
                users[f"student:{s}"] for s in pupils.get(class_id, ()) if f"student:{s}" in users
            ]
            pairs.update((u, s) for u in staff_ids for s in student_ids)
        for batch in _chunks(sorted(pairs)):
            existing = set(
                self.session.execute(
                    select(UserStudent.id_user, UserStudent.id_student).where(
                        tuple_(UserStudent.id_user, UserStudent.id_student).in_(batch)
                    )
                )
            )
            for id_user, id_student in batch:
                if (id_user, id_student) in existing:
                    continue
                link = UserStudent(
                    id_user=id_user, id_student=id_student, access_level="read", is_primary=False
                )
                self.session.add(link)
                self.session.flush()
                self._record(
                    "create",
                    "student_access",
                    link.id_user_student,
                    ["access_level", "id_student", "id_user", "is_primary"],
                    id_student=id_student,
                )
                self.summary.created["assignments"] += 1


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
