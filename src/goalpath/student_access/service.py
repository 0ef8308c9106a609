"""Assignments of staff to students (user_student) and why a user sees a student.

An assignment is itself a grant: the `assigned` scope reads user_student on every
request, so a new, changed or removed row takes effect on the user's next request with
nothing cached to invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Bundle

from goalpath.authz.actor import Actor
from goalpath.authz.explain import explain_student_access
from goalpath.authz.service import Bindings
from goalpath.errors import Conflict, Forbidden, NotFound, ValidationFailed
from goalpath.kit.pagination import PageRequest, decode_cursor, keyset_page
from goalpath.models import Student, User, UserStudent
from goalpath.student_access.schemas import (
    MAX_ID,
    AccessExplanation,
    AccessReason,
    BulkStudentAccessInput,
    BulkStudentAccessResult,
    StudentAccess,
    StudentAccessInput,
)

RESOURCE = "student_access"
_CREATED_FIELDS = ["access_level", "id_student", "id_user", "is_primary"]


def _with_user() -> Bundle[Any]:
    """An assignment and its staff member's name and email as one row, so a page of
    assignments is one joined query whatever its size."""
    return Bundle(
        "assignment",
        UserStudent.id_user_student,
        UserStudent.id_user,
        UserStudent.id_student,
        UserStudent.access_level,
        UserStudent.is_primary,
        User.name,
        User.email,
    )


def _assignments() -> Select[Any]:
    # Outer join: a row whose id_user is empty still shows, it is not silently dropped.
    return select(_with_user()).outerjoin(User, User.id_user == UserStudent.id_user)


def _view(actor: Actor, id_user_student: int) -> StudentAccess:
    row = actor.db.scalars(
        _assignments().where(UserStudent.id_user_student == id_user_student)
    ).one()
    return StudentAccess.model_validate(row)


def _target_user(actor: Actor, id_user: int) -> User:
    """The staff member to assign: readable by the actor (404 otherwise) and active."""
    user = actor.authz.fetch(User, id_user, "user")
    if user.deactivated_at is not None:
        raise ValidationFailed(
            "A deactivated account cannot be assigned to students.",
            errors=[{"field": "id_user", "message": "This account is deactivated."}],
        )
    return user


def _flush(actor: Actor) -> None:
    try:
        actor.db.flush()
    except IntegrityError as error:
        # Two requests assigning the same pair at once: the unique index decides.
        raise Conflict(
            "The assignment conflicts with a change made meanwhile; reload and try again."
        ) from error


def _check_cursor(page: PageRequest) -> None:
    """The cursor of an assignment list carries one integer id. decode_cursor also lets
    strings and numbers of any size through, which PostgreSQL refuses against an
    integer column (a 500), so anything else is refused here as a bad cursor."""
    if page.cursor is None:
        return
    (value,) = decode_cursor(page.cursor, 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise ValidationFailed(
            "The cursor is not valid; start again from the first page.",
            errors=[{"field": "cursor", "message": "Not a cursor this server issued."}],
        )


def list_access(
    actor: Actor, id_student: int, page: PageRequest
) -> tuple[list[StudentAccess], str | None]:
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    _check_cursor(page)
    statement = actor.authz.scoped(_assignments(), RESOURCE).where(
        UserStudent.id_student == id_student
    )
    rows, next_cursor = keyset_page(
        actor.db, statement, [UserStudent.id_user_student.expression], page
    )
    return [StudentAccess.model_validate(row) for row in rows], next_cursor


@dataclass(frozen=True)
class ProgramAssignment:
    id_user_student: int
    id_student: int
    identifier: str
    id_user: int | None
    name: str | None
    access_level: str | None
    is_primary: bool


def program_assignments(actor: Actor, id_program: int, limit: int) -> list[ProgramAssignment]:
    """The caseload assignments of a program's students that the actor may read, by
    student then staff member: one joined query (a caseload page's list)."""
    return _assignment_rows(actor, Student.id_program == id_program, limit)


def assigned_to(actor: Actor, id_student: int, limit: int) -> list[ProgramAssignment]:
    """Who is assigned to a student (primary contacts first), as far as the actor may
    read the assignments: one joined query."""
    rows = _assignment_rows(actor, UserStudent.id_student == id_student, limit)
    return sorted(rows, key=lambda row: (not row.is_primary, row.name or ""))


def caseload_of(actor: Actor, id_user: int, limit: int) -> list[ProgramAssignment]:
    """A staff member's caseload, as far as the actor may read it: one joined query."""
    return _assignment_rows(actor, UserStudent.id_user == id_user, limit)


def _assignment_rows(
    actor: Actor, condition: ColumnElement[bool], limit: int
) -> list[ProgramAssignment]:
    statement = (
        select(
            UserStudent.id_user_student,
            UserStudent.id_student,
            Student.identifier,
            UserStudent.id_user,
            User.name,
            UserStudent.access_level,
            UserStudent.is_primary,
        )
        .join(Student, Student.id_student == UserStudent.id_student)
        .outerjoin(User, User.id_user == UserStudent.id_user)
        .where(condition, actor.authz.readable(RESOURCE), actor.authz.readable("student"))
        .order_by(Student.identifier, User.name, UserStudent.id_user_student)
        .limit(limit)
    )
    return [
        ProgramAssignment(
            id_user_student=row.id_user_student,
            id_student=row.id_student,
            identifier=row.identifier or f"Student {row.id_student}",
            id_user=row.id_user,
            name=row.name,
            access_level=row.access_level,
            is_primary=bool(row.is_primary),
        )
        for row in actor.db.execute(statement)
    ]


def create_access(actor: Actor, id_student: int, body: StudentAccessInput) -> StudentAccess:
    actor.authz.require_on_student(RESOURCE, "create", id_student)
    user = _target_user(actor, body.id_user)
    duplicate = actor.db.scalar(
        select(UserStudent.id_user_student).where(
            UserStudent.id_user == user.id_user, UserStudent.id_student == id_student
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"This staff member is already assigned to the student (id_user_student "
            f"{duplicate}); change that assignment instead."
        )
    link = UserStudent(
        id_user=user.id_user,
        id_student=id_student,
        access_level=body.access_level,
        is_primary=body.is_primary,
    )
    actor.db.add(link)
    _flush(actor)
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=link.id_user_student,
        id_student=id_student,
        details={"fields": _CREATED_FIELDS, "id_user": user.id_user},
    )
    return StudentAccess(
        id_user_student=link.id_user_student,
        id_user=link.id_user,
        id_student=link.id_student,
        access_level=link.access_level,
        is_primary=link.is_primary,
        name=user.name,
        email=user.email,
    )


def _check_caseload(actor: Actor, id_students: list[int]) -> None:
    """Every student in one query: readable (else 404) and open to new assignments by
    this actor (else 403). Each refused student gets its own audit row."""
    may_create = actor.authz.condition(
        RESOURCE,
        "create",
        Bindings(id_student=Student.id_student, id_program=Student.id_program),
    )
    decided = {
        id_student: (bool(readable), bool(creatable))
        for id_student, readable, creatable in actor.db.execute(
            select(
                Student.id_student,
                case((actor.authz.readable("student"), 1), else_=0),
                case((may_create, 1), else_=0),
            ).where(Student.id_student.in_(id_students))
        )
    }
    unseen = [i for i in id_students if not decided.get(i, (False, False))[0]]
    refused = [i for i in id_students if i not in unseen and not decided[i][1]]
    for id_student in unseen:
        actor.authz.deny("create", RESOURCE, None, id_student, "student_out_of_scope")
    for id_student in refused:
        actor.authz.deny("create", RESOURCE, None, id_student, "forbidden")
    if unseen:
        # Absent and out-of-scope students look alike, so naming them reveals nothing.
        raise NotFound(
            "Some of these students were not found; nothing was assigned.",
            errors=[{"field": "id_students", "message": f"Not found: {unseen}"}],
        )
    if refused:
        raise Forbidden(
            "You may not assign staff to some of these students; nothing was assigned.",
            errors=[{"field": "id_students", "message": f"Not allowed: {refused}"}],
        )


def bulk_assign(actor: Actor, body: BulkStudentAccessInput) -> BulkStudentAccessResult:
    id_students = list(dict.fromkeys(body.id_students))
    _check_caseload(actor, id_students)
    user = _target_user(actor, body.id_user)
    existing = list(
        actor.db.scalars(
            select(UserStudent)
            .where(UserStudent.id_user == user.id_user, UserStudent.id_student.in_(id_students))
            .order_by(UserStudent.id_user_student)
        )
    )
    already = {link.id_student for link in existing}
    links = [
        UserStudent(
            id_user=user.id_user,
            id_student=id_student,
            access_level=body.access_level,
            is_primary=False,
        )
        for id_student in id_students
        if id_student not in already
    ]
    actor.db.add_all(links)
    _flush(actor)
    for link in links:
        actor.audit.record(
            "create",
            RESOURCE,
            record_id=link.id_user_student,
            id_student=link.id_student,
            details={"fields": _CREATED_FIELDS, "id_user": user.id_user, "bulk": True},
        )

    def view(link: UserStudent) -> StudentAccess:
        return StudentAccess(
            id_user_student=link.id_user_student,
            id_user=link.id_user,
            id_student=link.id_student,
            access_level=link.access_level,
            is_primary=link.is_primary,
            name=user.name,
            email=user.email,
        )

    return BulkStudentAccessResult(
        id_user=user.id_user,
        created=[view(link) for link in links],
        existing=[view(link) for link in existing],
    )


def _assignment(actor: Actor, id_student: int, id_user_student: int, action: str) -> UserStudent:
    """The assignment named by the URL: it must belong to that student."""
    link = actor.authz.fetch(UserStudent, id_user_student, RESOURCE, action)
    if link.id_student != id_student:
        actor.authz.deny(action, RESOURCE, id_user_student, None, "not_found_or_out_of_scope")
        raise NotFound("Not found.")
    return link


def get_access(actor: Actor, id_student: int, id_user_student: int) -> StudentAccess:
    _assignment(actor, id_student, id_user_student, "read")
    return _view(actor, id_user_student)


def update_access(
    actor: Actor, id_student: int, id_user_student: int, changes: dict[str, Any]
) -> StudentAccess:
    link = _assignment(actor, id_student, id_user_student, "update")
    changed = sorted(name for name, value in changes.items() if getattr(link, name) != value)
    for name in changed:
        setattr(link, name, changes[name])
    actor.db.flush()
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_user_student,
        id_student=id_student,
        details={"fields": changed, "id_user": link.id_user},
    )
    return _view(actor, id_user_student)


def revoke_access(actor: Actor, id_student: int, id_user_student: int) -> None:
    link = _assignment(actor, id_student, id_user_student, "delete")
    id_user = link.id_user
    actor.db.delete(link)
    actor.db.flush()
    actor.audit.record(
        "delete",
        RESOURCE,
        record_id=id_user_student,
        id_student=id_student,
        details={"fields": _CREATED_FIELDS, "id_user": id_user},
    )


def explain_access(actor: Actor, id_student: int) -> AccessExplanation:
    # Checked through require_on_student so a refusal names the student on the trail.
    actor.authz.require_on_student("student", "read", id_student)
    role, reasons = explain_student_access(actor.authz, actor.grants, id_student)
    actor.audit.record(
        "read", RESOURCE, id_student=id_student, details={"view": "access_explanation"}
    )
    return AccessExplanation(
        id_student=id_student,
        id_user=actor.id_user,
        role=role,
        reasons=[
            AccessReason(permission=r.permission, scope=r.scope, explanation=r.explanation)
            for r in reasons
        ],
    )
