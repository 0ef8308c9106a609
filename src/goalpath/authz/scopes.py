"""Scopes as SQL (SPEC section 5): every list is filtered in the database.

A condition is built from expressions, not rows: for a list they are the table's own
columns; to check a record that does not exist yet (a create) they are literals. The
same code therefore decides both, and nothing is loaded to be dropped in Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, literal, or_, select, true

from goalpath.models import Program, Student, User, UserProgram, UserStudent

ACTIVE = "active"
READ_ONLY_ACCESS = "read"


def my_program_ids(id_user: int) -> Select[Any]:
    return select(UserProgram.id_program).where(
        UserProgram.id_user == id_user, UserProgram.status == ACTIVE
    )


def my_district_ids(id_user: int) -> Select[Any]:
    return select(Program.id_school_district).where(Program.id_program.in_(my_program_ids(id_user)))


def district_program_ids(id_user: int) -> Select[Any]:
    return select(Program.id_program).where(
        Program.id_school_district.in_(my_district_ids(id_user))
    )


def students_of_programs(
    program_ids: Select[Any] | Select[Any],
) -> Select[Any]:
    return select(Student.id_student).where(Student.id_program.in_(program_ids))


def assigned_students(id_user: int, *, writable: bool) -> Select[Any]:
    statement = select(UserStudent.id_student).where(UserStudent.id_user == id_user)
    if writable:
        # access_level 'read' allows only reads; anything else (the default) allows all.
        statement = statement.where(
            or_(UserStudent.access_level.is_(None), UserStudent.access_level != READ_ONLY_ACCESS)
        )
    return statement


def student_condition(
    scope: str,
    id_user: int,
    action: str,
    *,
    id_student: ColumnElement[int | None],
    id_program: ColumnElement[int | None] | None = None,
    created_by: ColumnElement[int | None] | None = None,
    readable_student: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """One scope over a record that belongs to a student.

    `id_program` short-cuts the lookup when the record is the student itself;
    `readable_student` is the user's student-read condition, which `own` requires."""
    if scope == "global":
        return true()
    if scope == "district":
        if id_program is not None:
            return id_program.in_(district_program_ids(id_user))
        return id_student.in_(students_of_programs(district_program_ids(id_user)))
    if scope == "program":
        if id_program is not None:
            return id_program.in_(my_program_ids(id_user))
        return id_student.in_(students_of_programs(my_program_ids(id_user)))
    if scope == "assigned":
        return id_student.in_(assigned_students(id_user, writable=action != "read"))
    if scope == "own" and created_by is not None:
        return and_(
            created_by == id_user, readable_student if readable_student is not None else true()
        )
    return false()


def program_condition(
    scope: str, id_user: int, *, id_program: ColumnElement[int | None]
) -> ColumnElement[bool]:
    if scope == "global":
        return true()
    if scope == "district":
        return id_program.in_(district_program_ids(id_user))
    if scope == "program":
        return id_program.in_(my_program_ids(id_user))
    return false()


def district_condition(
    scope: str, id_user: int, *, id_school_district: ColumnElement[int | None]
) -> ColumnElement[bool]:
    if scope == "global":
        return true()
    if scope in ("district", "program"):
        return id_school_district.in_(my_district_ids(id_user))
    return false()


def user_condition(
    scope: str,
    id_user: int,
    *,
    target: ColumnElement[int],
    home_district: ColumnElement[int | None],
) -> ColumnElement[bool]:
    """Staff accounts (SPEC section 11): a district administrator's accounts are those at
    home in their districts or placed in one of their districts' programs. An account in
    no program and with no home district of theirs (another district's new account, the
    system administrator's) is never in their scope."""
    if scope == "global":
        return true()
    if scope == "own":
        return target == id_user
    if scope == "district":
        members = select(UserProgram.id_user).where(
            UserProgram.id_program.in_(district_program_ids(id_user))
        )
        return or_(home_district.in_(my_district_ids(id_user)), target.in_(members))
    if scope == "program":
        members = select(UserProgram.id_user).where(
            UserProgram.id_program.in_(my_program_ids(id_user)), UserProgram.status == ACTIVE
        )
        return or_(target.in_(members), target == id_user)
    return false()


def any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if not conditions:
        return false()
    if len(conditions) == 1:
        return conditions[0]
    return or_(*conditions)


def as_literal(value: int | None) -> ColumnElement[int | None]:
    return literal(value)


__all__ = [
    "User",
    "any_of",
    "as_literal",
    "district_condition",
    "my_district_ids",
    "my_program_ids",
    "program_condition",
    "student_condition",
    "user_condition",
]
