"""Why a user can see a student (SPEC section 5: every student page can say it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from goalpath.authz.grants import Grants
from goalpath.authz.service import Authorizer, Bindings
from goalpath.authz.wording import role_in_words
from goalpath.models import Program, Role, SchoolDistrict, Student, UserProgram, UserStudent


@dataclass(frozen=True)
class Reason:
    permission: str
    scope: str
    explanation: str


def explain_student_access(
    authz: Authorizer, grants: Grants, id_student: int
) -> tuple[str | None, list[Reason]]:
    """The role name and each right that lets the user read the student."""
    session = authz.session
    role_name = (
        session.scalar(select(Role.name).where(Role.id_role == grants.id_role))
        if grants.id_role is not None
        else None
    )
    student = session.get(Student, id_student)
    if student is None:
        return role_name, []
    program, district = session.execute(
        select(Program.name, SchoolDistrict.name)
        .select_from(Program)
        .outerjoin(SchoolDistrict, SchoolDistrict.id_school_district == Program.id_school_district)
        .where(Program.id_program == student.id_program)
    ).one_or_none() or (None, None)
    label = role_in_words(role_name)
    reasons: list[Reason] = []
    for scope in sorted(grants.scopes("student", "read")):
        bindings = Bindings(id_student=Student.id_student, id_program=Student.id_program)
        condition = authz._scope("student", "read", scope, bindings)
        holds = session.scalar(
            select(Student.id_student).where(Student.id_student == id_student, condition)
        )
        if holds is None:
            continue
        permission = f"student:read:{scope}"
        if scope == "global":
            text = f"Your role ({label}) may read every student record."
        elif scope == "district":
            text = (
                f"Your role ({label}) reads students of your districts; you are an active "
                f"member of a program in {district}, which runs {program}."
            )
        elif scope == "program":
            membership = session.scalar(
                select(UserProgram.is_primary).where(
                    UserProgram.id_user == grants.id_user,
                    UserProgram.id_program == student.id_program,
                )
            )
            primary = " (your primary program)" if membership else ""
            text = (
                f"Your role ({label}) reads students of your programs; you are an "
                f"active member of {program}{primary}."
            )
        else:
            assignment = session.execute(
                select(UserStudent.access_level, UserStudent.is_primary).where(
                    UserStudent.id_user == grants.id_user, UserStudent.id_student == id_student
                )
            ).one_or_none()
            level = (assignment[0] if assignment else None) or "write"
            primary = " as their primary staff member" if assignment and assignment[1] else ""
            text = (
                f"Your role ({label}) reads students assigned to you; you are assigned "
                f"to this student{primary} with {level} access."
            )
        reasons.append(Reason(permission, scope, text))
    return role_name, reasons
