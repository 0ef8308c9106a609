"""Caseload links from classes: the teachers and aides of a class read its students.
A link an import made is marked in roster_source (kind `caseload`, named by its pair
of ids); only such a link is ended when no enrollment justifies it any more. A link
made by hand is never touched.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import aliased

from goalpath.models import RosterEnrollment, UserStudent
from goalpath.rosters.run import ImportRun, chunks

# Classes whose rosters are read at once to make caseload links (about 30 rows each).
CLASS_BATCH = 100
_LINK_FIELDS = ["access_level", "id_student", "id_user", "is_primary"]


def _caseload_key(id_user: int | None, id_student: int | None) -> str:
    """roster_source.sourced_id of a caseload link an import made: links come from
    pairs of enrollments, so they have no sourcedId of their own."""
    return f"{id_user}:{id_student}"


def pairs_of(run: ImportRun, gone: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """The (staff, student) pairs that the gone enrollments were part of."""
    pairs: set[tuple[str, str]] = set()
    classes = sorted({class_id for class_id, _user, _role in gone})
    for chunk in chunks(classes):
        rosters = _rosters(run, chunk)
        for class_id, user_id, role in gone:
            if class_id not in rosters:
                continue
            staff, students = rosters[class_id]
            if role == "student":
                pairs.update((teacher, user_id) for teacher in staff)
            else:
                pairs.update((user_id, student) for student in students)
    return pairs


def _rosters(run: ImportRun, classes: list[str]) -> dict[str, tuple[set[str], set[str]]]:
    """Each stored class's staff and students (sourcedIds)."""
    rosters: dict[str, tuple[set[str], set[str]]] = {}
    for class_id, user_id, role in run.session.execute(
        select(
            RosterEnrollment.class_sourced_id,
            RosterEnrollment.user_sourced_id,
            RosterEnrollment.role,
        ).where(
            RosterEnrollment.id_school_district == run.district,
            RosterEnrollment.class_sourced_id.in_(classes),
        )
    ):
        staff, students = rosters.setdefault(class_id, (set(), set()))
        (students if role == "student" else staff).add(user_id)
    return rosters


def end_caseloads(run: ImportRun, doubtful: set[tuple[str, str]]) -> None:
    """Links this import's enrollments no longer justify, and that an import made
    (a link made by hand is never touched), are deleted: the data model has no end
    date for a link, and its deletion is in the audit trail."""
    staff_of = aliased(RosterEnrollment)
    pupil_of = aliased(RosterEnrollment)
    for chunk in chunks(sorted(doubtful)):
        still: set[tuple[str, str]] = set(
            run.session.execute(
                select(staff_of.user_sourced_id, pupil_of.user_sourced_id)
                .join(
                    pupil_of,
                    (pupil_of.id_school_district == staff_of.id_school_district)
                    & (pupil_of.class_sourced_id == staff_of.class_sourced_id),
                )
                .where(
                    staff_of.id_school_district == run.district,
                    staff_of.role != "student",
                    pupil_of.role == "student",
                    tuple_(staff_of.user_sourced_id, pupil_of.user_sourced_id).in_(chunk),
                )
                .distinct()
            )
        )
        ended = [pair for pair in chunk if pair not in still]
        staff = run.record_ids("staff", (user for user, _ in ended))
        students = run.record_ids("student", (student for _, student in ended))
        pairs = {
            (staff[user], students[student])
            for user, student in ended
            if user in staff and student in students
        }
        if pairs:
            _unlink(run, pairs)


def _unlink(run: ImportRun, pairs: set[tuple[int, int]]) -> None:
    marks = run.mapped(("caseload",), [_caseload_key(*pair) for pair in pairs])
    links = [
        (id_link, id_user, id_student)
        for id_link, id_user, id_student in run.session.execute(
            select(UserStudent.id_user_student, UserStudent.id_user, UserStudent.id_student).where(
                UserStudent.id_student.in_(sorted({student for _, student in pairs}))
            )
        )
        if (id_user, id_student) in pairs
    ]
    ended: list[int] = []
    for id_link, id_user, id_student in links:
        mark = marks.get(_caseload_key(id_user, id_student))
        if mark is None or mark.record_id != id_link:
            continue
        ended.append(id_link)
        run.session.delete(mark)
        run.record(
            "delete",
            "student_access",
            id_link,
            _LINK_FIELDS,
            id_student=id_student,
            id_user=id_user,
        )
    if ended:
        run.session.flush()
        run.session.execute(delete(UserStudent).where(UserStudent.id_user_student.in_(ended)))
        run.summary.deactivated["assignments"] += len(ended)


def make_caseloads(run: ImportRun, touched: set[str]) -> None:
    """Teachers and aides of a class read its students (access level read)."""
    for classes in chunks(sorted(touched), CLASS_BATCH):
        rosters = _rosters(run, classes)
        staff = run.record_ids("staff", (u for s, _ in rosters.values() for u in s))
        students = run.record_ids("student", (u for _, p in rosters.values() for u in p))
        pairs = {
            (staff[teacher], students[pupil])
            for teachers, pupils in rosters.values()
            for teacher in teachers
            if teacher in staff
            for pupil in pupils
            if pupil in students
        }
        for batch in chunks(sorted(pairs)):
            _link(run, batch)
        run.flush()


def _link(run: ImportRun, pairs: list[tuple[int, int]]) -> None:
    # Looked up by student (an index), not by pair: a row-value IN is a full scan on
    # SQLite.
    existing = {
        (id_user, id_student)
        for id_user, id_student in run.session.execute(
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
    created = run.session.execute(
        insert(UserStudent).returning(
            UserStudent.id_user_student,
            UserStudent.id_user,
            UserStudent.id_student,
            sort_by_parameter_order=True,
        ),
        wanted,
    ).all()
    # A mark left by a link deleted by hand since is pointed at the new link.
    marks = run.mapped(
        ("caseload",),
        [_caseload_key(id_user, id_student) for _, id_user, id_student in created],
    )
    for id_link, id_user, id_student in created:
        key = _caseload_key(id_user, id_student)
        if key in marks:
            marks[key].record_id = id_link
        else:
            run.remember("caseload", key, id_link)
        run.record("create", "student_access", id_link, _LINK_FIELDS, id_student=id_student)
    run.summary.created["assignments"] += len(created)
