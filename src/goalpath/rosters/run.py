"""One import run: what it is asked (`ImportOptions`), what it reports (`ImportSummary`,
`Progress`), and what every pass of the second reading shares (`ImportRun`): the
batched writes of roster_source marks and audit rows, the files read in chunks, and
how a row's role, schools and program are found.

Writes are batched: a chunk of `BATCH` rows is mapped with a few lookups, its new
roster_source rows go out in one executemany (`ImportRun.flush`), its audit rows
through an `AuditBatch`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from goalpath.audit.service import AuditBatch
from goalpath.models import RosterSource, Student, User
from goalpath.rosters.reader import Manifest, Problem, RosterSet, Row, handled_rows, split_list

BATCH = 500
# Chunks between two refreshes of PostgreSQL's statistics (see ImportRun.analyze).
ANALYZE_EVERY = 20
_ANALYZE = 'ANALYZE roster_source, roster_enrollment, student, "user", user_program, user_student'
KINDS = ("programs", "staff", "students", "assignments", "periods")
NAME_MAX = 255

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


def chunks(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Catalog:
    """What the first pass learns and the second needs; ids only, never row contents."""

    org_types: dict[str, str] = field(default_factory=dict)
    # OneRoster 1.2 keeps a user's role and schools in roles.csv, not users.csv.
    user_roles: dict[str, str] = field(default_factory=dict)
    user_orgs: dict[str, list[str]] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)


def removed(row: Row) -> bool:
    """A user the files take away: marked tobedeleted, or disabled."""
    return row.to_be_deleted or row.get("enabledUser").lower() == "false"


@dataclass
class ImportRun:
    session: Session
    roster: RosterSet
    manifest: Manifest
    options: ImportOptions
    id_role: int | None
    catalog: Catalog
    summary: ImportSummary
    audit: AuditBatch
    now: datetime
    progress: Progress | None
    # School sourcedId -> program, known once orgs.csv is imported.
    school_programs: dict[str, int] = field(default_factory=dict)
    # roster_source rows not yet written: inserted with one executemany per chunk.
    pending_sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def district(self) -> int:
        return self.options.id_school_district

    # -- roster_source marks -------------------------------------------------------------

    def mapped(self, kinds: tuple[str, ...], sourced_ids: list[str]) -> dict[str, RosterSource]:
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

    def record_ids(self, kind: str, sourced_ids: Iterable[str]) -> dict[str, int]:
        """sourcedId -> record id of the district's records of one kind, read in chunks."""
        found: dict[str, int] = {}
        for chunk in chunks(sorted(set(sourced_ids))):
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

    def remember(self, kind: str, sourced_id: str, record_id: int | None) -> None:
        self.pending_sources.append(
            {
                "id_school_district": self.district,
                "kind": kind,
                "sourced_id": sourced_id,
                "record_id": record_id,
            }
        )

    def flush(self) -> None:
        """Changed ORM rows, then the sourcedIds remembered since the last flush."""
        self.session.flush()
        if self.pending_sources:
            self.session.execute(insert(RosterSource), self.pending_sources)
            self.pending_sources = []

    # -- audit rows, row errors, records changed -------------------------------------------

    def record(
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

    def error(self, stem: str, row: Row, problem: str) -> None:
        self.summary.errors.append(Problem(f"{stem}.csv", row.line, row.sourced_id, problem))

    def update(
        self,
        record: Student | User,
        values: dict[str, object],
        resource: str,
        kind: str,
        record_id: int,
    ) -> None:
        """The fields the files changed, set and audited; otherwise counted unchanged."""
        changed = [key for key, value in values.items() if getattr(record, key) != value]
        if not changed:
            self.summary.unchanged += 1
            return
        for key in changed:
            setattr(record, key, values[key])
        id_student = record_id if resource == "student" else None
        self.record("update", resource, record_id, changed, id_student=id_student)
        self.summary.updated[kind] += 1

    # -- reading the files ---------------------------------------------------------------

    def chunks_of(self, stem: str) -> Iterator[list[Row]]:
        """The file's rows in chunks, the progress told after each."""
        count = 0
        total = self.catalog.row_counts.get(stem)
        for number, chunk in enumerate(chunks(handled_rows(self.roster, self.manifest, stem)), 1):
            yield chunk
            count += len(chunk)
            if self.progress is not None:
                self.progress(f"{stem}.csv", count, total)
            if number % ANALYZE_EVERY == 0:
                self.analyze()
        self.analyze()

    def analyze(self) -> None:
        """PostgreSQL plans each lookup from table statistics, which autovacuum cannot
        refresh while this transaction's rows are uncommitted: the tables would still
        look empty, and every chunk's lookup would scan them whole. ANALYZE in the
        transaction counts its own rows."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.flush()
            self.session.execute(text(_ANALYZE))

    # -- a user's role, schools and programs ---------------------------------------------

    def role_of(self, row: Row) -> str:
        if self.manifest.version == "1.1":
            return row.get("role")
        return self.catalog.user_roles.get(row.sourced_id, "")

    def orgs_of(self, row: Row) -> list[str]:
        if self.manifest.version == "1.1":
            return split_list(row.get("orgSourcedIds"))
        orgs = list(self.catalog.user_orgs.get(row.sourced_id, []))
        primary = row.get("primaryOrgSourcedId")
        return [primary, *orgs] if primary else orgs

    def program_of(self, orgs: list[str]) -> int | None:
        if self.options.id_program is not None:
            return self.options.id_program
        for org in orgs:
            if org in self.school_programs:
                return self.school_programs[org]
        return None

    def programs_of(self, orgs: list[str]) -> set[int]:
        if self.options.id_program is not None:
            return {self.options.id_program}
        return {self.school_programs[org] for org in orgs if org in self.school_programs}
