"""The student rows of users.csv: a student per row, in the program of their school, by
identifier (or username) and grade only. Names, birth dates and demographics are never
read, so they cannot reach the database. A student the files take away is withdrawn,
never deleted.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from goalpath.models import Program, Student
from goalpath.rosters.reader import Row, split_list
from goalpath.rosters.run import ImportRun, removed

IDENTIFIER_MAX = 50
_GRADE = re.compile(r"^\d{1,2}$")


def import_students(run: ImportRun, rows: list[Row]) -> None:
    mapped = run.mapped(("student",), [row.sourced_id for row in rows])
    known = {
        student.id_student: student
        for student in run.session.scalars(
            select(Student).where(Student.id_student.in_([s.record_id for s in mapped.values()]))
        )
    }
    wanted = {
        (row.get("identifier") or row.get("username")).lower() for row in rows if not removed(row)
    }
    # Earlier chunks of this import are flushed, so this also sees their students.
    taken: dict[str, int] = dict(
        run.session.execute(
            select(func.lower(Student.identifier), Student.id_student)
            .join(Program, Program.id_program == Student.id_program)
            .where(
                Program.id_school_district == run.district,
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
        if removed(row):
            if student is not None:
                _withdraw(run, student)
            continue
        identifier = row.get("identifier") or row.get("username")
        if not identifier:
            run.error("users", row, "no identifier or username")
            continue
        if len(identifier) > IDENTIFIER_MAX:
            run.error("users", row, f"identifier over {IDENTIFIER_MAX} characters")
            continue
        key = identifier.lower()
        holder = claimed.get(key)
        owner = taken.get(key)
        if (holder is not None and holder is not student) or (
            holder is None
            and owner is not None
            and (student is None or owner != student.id_student)
        ):
            run.error("users", row, "identifier already used by another student of the district")
            continue
        id_program = run.program_of(run.orgs_of(row))
        if id_program is None:
            run.error("users", row, "belongs to no school of the set")
            continue
        values = {
            "id_program": id_program,
            "identifier": identifier,
            "program_year": _program_year(row.get("grades")),
            "withdrawn_on": None,
        }
        if student is None:
            student = Student(**values)
            run.session.add(student)
            created.append(
                (row.sourced_id, student, [k for k, v in values.items() if v is not None])
            )
            run.summary.created["students"] += 1
        else:
            run.update(student, values, "student", "students", student.id_student)
        claimed[key] = student
    if created:
        # One batched INSERT for the chunk's new students, their ids returned.
        run.session.flush()
    for sourced_id, student, fields in created:
        run.remember("student", sourced_id, student.id_student)
        run.record("create", "student", student.id_student, fields, id_student=student.id_student)


def _withdraw(run: ImportRun, student: Student) -> None:
    if student.withdrawn_on is not None:
        run.summary.unchanged += 1
        return
    student.withdrawn_on = run.now.date()
    run.record(
        "update",
        "student",
        student.id_student,
        ["withdrawn_on"],
        id_student=student.id_student,
    )
    run.summary.deactivated["students"] += 1


def _program_year(grades: str) -> int | None:
    """Numeric grades 01 to 12 give the year; KG, PK and the like leave it empty."""
    for grade in split_list(grades):
        if _GRADE.match(grade) and 1 <= int(grade) <= 12:
            return int(grade)
        return None
    return None
