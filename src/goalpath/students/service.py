"""Students: the district's identifier, program placement and dates; never a name.

`identifier` is unique within a district (SPEC section 2). The database can only hold it
unique per program, so the district-wide rule is checked here, in SQL, across every
program of the district, with the district row locked so two concurrent requests cannot
both pass the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from goalpath.authz.actor import Actor
from goalpath.authz.service import Bindings
from goalpath.errors import Conflict, ValidationFailed
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import (
    Goal,
    HealthNote,
    Program,
    ProgressEvent,
    ProgressReport,
    SchoolDistrict,
    Student,
    UserStudent,
)
from goalpath.students.schemas import StudentInput, StudentUpdate

RESOURCE = "student"
_LIKE_ESCAPE = "!"


@dataclass(frozen=True)
class StudentFilters:
    id_program: int | None = None
    identifier_prefix: str | None = None
    program_year: int | None = None
    expected_grad_from: date | None = None
    expected_grad_to: date | None = None


def _starts_with(session: Session, column: Any, prefix: str) -> ColumnElement[bool]:
    """A prefix match without regard to case on every backend, as identifiers are
    unique without regard to case (SPEC 14: "identifiers match case-insensitively").

    SQLite's LIKE folds ASCII case and MariaDB compares with the column's
    case-insensitive collation; PostgreSQL's LIKE is exact, so it gets ILIKE."""
    escaped = (
        prefix.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", f"{_LIKE_ESCAPE}%")
        .replace("_", f"{_LIKE_ESCAPE}_")
    )
    pattern = f"{escaped}%"
    if session.get_bind().dialect.name == "postgresql":
        return column.ilike(pattern, escape=_LIKE_ESCAPE)  # type: ignore[no-any-return]
    return column.like(pattern, escape=_LIKE_ESCAPE)  # type: ignore[no-any-return]


def list_students(
    actor: Actor, filters: StudentFilters, page: PageRequest
) -> tuple[list[Student], str | None]:
    if (
        filters.expected_grad_from
        and filters.expected_grad_to
        and filters.expected_grad_from > filters.expected_grad_to
    ):
        raise ValidationFailed(
            "expected_grad_from is after expected_grad_to.",
            errors=[
                {"field": "expected_grad_from", "message": "Must not be after expected_grad_to."}
            ],
        )
    statement = actor.authz.scoped(select(Student), RESOURCE)
    if filters.id_program is not None:
        statement = statement.where(Student.id_program == filters.id_program)
    if filters.identifier_prefix:
        statement = statement.where(
            _starts_with(actor.db, Student.identifier, filters.identifier_prefix)
        )
    if filters.program_year is not None:
        statement = statement.where(Student.program_year == filters.program_year)
    if filters.expected_grad_from is not None:
        statement = statement.where(Student.expected_grad >= filters.expected_grad_from)
    if filters.expected_grad_to is not None:
        statement = statement.where(Student.expected_grad <= filters.expected_grad_to)
    return keyset_page(actor.db, statement, [Student.id_student.expression], page)


def get_student(actor: Actor, id_student: int) -> Student:
    student = actor.authz.fetch(Student, id_student, RESOURCE)
    # A detail view is a read of the education record (SPEC section 6).
    actor.audit.record("read", RESOURCE, record_id=id_student, id_student=id_student)
    return student


def _program_district(actor: Actor, id_program: int) -> int | None:
    """The program's district, locked for the identifier check; 422 if no such program."""
    found = actor.db.execute(
        select(Program.id_program, Program.id_school_district).where(
            Program.id_program == id_program
        )
    ).one_or_none()
    if found is None:
        raise ValidationFailed(
            "There is no such program.",
            errors=[{"field": "id_program", "message": "No program has this id."}],
        )
    id_school_district: int | None = found.id_school_district
    if id_school_district is not None:
        # Serialises identifier checks within one district on PostgreSQL and MariaDB
        # (SQLite already runs one writer at a time).
        actor.db.execute(
            select(SchoolDistrict.id_school_district)
            .where(SchoolDistrict.id_school_district == id_school_district)
            .with_for_update()
        )
    return id_school_district


def _require_identifier_free(
    actor: Actor, identifier: str, id_program: int, *, except_student: int | None = None
) -> None:
    id_school_district = _program_district(actor, id_program)
    if id_school_district is None:
        same_district: ColumnElement[bool] = Student.id_program == id_program
    else:
        same_district = Student.id_program.in_(
            select(Program.id_program).where(Program.id_school_district == id_school_district)
        )
    # Compared without case: MariaDB's unique index already treats "ab" and "AB" as
    # one identifier, and the rule has to mean the same on every backend. A locking
    # read, because MariaDB's plain reads would not see a row committed meanwhile.
    statement = (
        select(Student.id_student)
        .where(same_district, func.lower(Student.identifier) == identifier.lower())
        .limit(1)
        .with_for_update(read=True)
    )
    if except_student is not None:
        statement = statement.where(Student.id_student != except_student)
    if actor.db.scalar(statement) is not None:
        raise Conflict(
            "Another student in this district already has this identifier; identifiers "
            "are unique across all programs of a district.",
            errors=[{"field": "identifier", "message": "Already used in this district."}],
        )


def _flush(actor: Actor) -> None:
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict(
            "The student conflicts with a record saved meanwhile (the identifier is "
            "already used in the program, or the program was removed); reload and retry."
        ) from error


def create_student(actor: Actor, body: StudentInput) -> Student:
    actor.authz.require_can(
        RESOURCE,
        "create",
        Bindings(id_student=literal(0), id_program=literal(body.id_program)),
    )
    _require_identifier_free(actor, body.identifier, body.id_program)
    values = body.model_dump(exclude_unset=True)
    student = Student(**values, created_at=actor.info.now)
    actor.db.add(student)
    _flush(actor)
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=student.id_student,
        id_student=student.id_student,
        details={"fields": sorted(values)},
    )
    return student


def update_student(actor: Actor, id_student: int, body: StudentUpdate) -> Student:
    student = actor.authz.fetch(Student, id_student, RESOURCE, "update")
    changes = body.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(student, name) != value)
    if not changed:
        return student
    target_program = changes.get("id_program", student.id_program)
    if "id_program" in changed:
        # Moving a student needs the update right at the destination as well.
        actor.authz.require_can(
            RESOURCE,
            "update",
            Bindings(id_student=literal(id_student), id_program=literal(target_program)),
            record_id=id_student,
            id_student=id_student,
        )
    enrollment_date = changes.get("enrollment_date", student.enrollment_date)
    expected_grad = changes.get("expected_grad", student.expected_grad)
    if enrollment_date and expected_grad and expected_grad < enrollment_date:
        raise ValidationFailed(
            "expected_grad must not be before enrollment_date.",
            errors=[{"field": "expected_grad", "message": "Before enrollment_date."}],
        )
    identifier = changes.get("identifier", student.identifier)
    if ("identifier" in changed or "id_program" in changed) and identifier and target_program:
        _require_identifier_free(actor, identifier, target_program, except_student=id_student)
    for name in changed:
        setattr(student, name, changes[name])
    _flush(actor)
    actor.audit.record(
        "update", RESOURCE, record_id=id_student, id_student=id_student, details={"fields": changed}
    )
    return student


def _remaining_records(actor: Actor, id_student: int) -> list[str]:
    """What still hangs on the student, named only as far as the user may see it:
    health notes and sensitive events the user cannot read are called restricted."""
    readable_event = actor.authz.readable("progress_event")
    readable_note = actor.authz.readable("health_note")
    row = actor.db.execute(
        select(
            exists().where(Goal.id_student == id_student),
            exists().where(ProgressEvent.id_student == id_student, readable_event),
            exists().where(ProgressEvent.id_student == id_student),
            exists().where(ProgressReport.id_student == id_student),
            exists().where(HealthNote.id_student == id_student, readable_note),
            exists().where(HealthNote.id_student == id_student),
            exists().where(UserStudent.id_student == id_student),
        )
    ).one()
    goals, events_seen, events, reports, notes_seen, notes, access = (bool(v) for v in row)
    names = [
        name
        for name, present in (
            ("goals", goals),
            ("progress events", events_seen),
            ("progress reports", reports),
            ("health notes", notes_seen),
            ("staff assignments", access),
        )
        if present
    ]
    if (events and not events_seen) or (notes and not notes_seen):
        names.append("restricted records you cannot see")
    return names


def delete_student(actor: Actor, id_student: int) -> None:
    student = actor.authz.fetch(Student, id_student, RESOURCE, "delete")
    remaining = _remaining_records(actor, id_student)
    if remaining:
        raise Conflict(
            "This student cannot be deleted while it still has "
            + ", ".join(remaining)
            + "; a delete never removes a student's records."
        )
    actor.db.delete(student)
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict(
            "Records were added to this student meanwhile; it cannot be deleted."
        ) from error
    actor.audit.record("delete", RESOURCE, record_id=id_student, id_student=id_student)
