"""Data and plain-SQL scope queries for the role x endpoint matrix (test_matrix.py).

The scope queries below restate docs/permissions.md ("What each scope means") as SQL
over the membership and assignment tables. They deliberately share no code with
goalpath.authz: the matrix compares what the API answers with what the documented
rules say, so the expected side must not be computed by the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import STAFF, demo_email
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import (
    Goal,
    HealthNote,
    Program,
    ProgressEvent,
    ProgressReport,
    Role,
    SchoolDistrict,
    Student,
    User,
    UserProgram,
    UserStudent,
)

API = "/api/v1"
ROLES = (
    "system_admin",
    "district_admin",
    "program_coordinator",
    "case_manager",
    "counselor",
    "nurse",
    "auditor",
)
# Wider first: a right held at a scope covers every narrower one (docs/permissions.md,
# "No privilege escalation").
SCOPE_ORDER = ("global", "district", "program", "assigned", "own")
STUDENT_RECORDS = (
    "student",
    "student_access",
    "goal",
    "health_note",
    "progress_event",
    "progress_report",
)
STAMP = datetime(2026, 3, 2, 15, tzinfo=UTC)
B_DOMAIN = "northbrook-schools.example"


# -- rights -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rights:
    """A role's (resource, action, scope) rows, as stored in role_permission."""

    triples: frozenset[tuple[str, str, str]]

    def scopes(self, resource: str, action: str) -> frozenset[str]:
        return frozenset(s for r, a, s in self.triples if r == resource and a == action)

    def covers_all(self, other: Rights) -> bool:
        """True when every right of `other` is held here at the same or a wider scope."""
        return all(
            any(
                SCOPE_ORDER.index(held) <= SCOPE_ORDER.index(scope)
                for held in self.scopes(resource, action)
            )
            for resource, action, scope in other.triples
        )


_RIGHTS_SQL = """
SELECT p.resource, p.action, p.scope
FROM role_permission rp
JOIN permission p ON p.id_permission = rp.id_permission
WHERE rp.id_role = {role}
"""


def role_rights(database: Database, role_name: str) -> Rights:
    statement = _RIGHTS_SQL.format(role="(SELECT ro.id_role FROM role ro WHERE ro.name = :name)")
    with database.engine.connect() as connection:
        rows = connection.execute(text(statement), {"name": role_name}).all()
    return Rights(frozenset((r, a, s) for r, a, s in rows))


def account_rights(database: Database, id_user: int) -> Rights:
    """The rights of the role an account holds."""
    user_table = _quoted_user(database)
    statement = _RIGHTS_SQL.format(
        role=f"(SELECT u.id_role FROM {user_table} u WHERE u.id_user = :id_user)"
    )
    with database.engine.connect() as connection:
        rows = connection.execute(text(statement), {"id_user": id_user}).all()
    return Rights(frozenset((r, a, s) for r, a, s in rows))


# -- scopes as plain SQL (docs/permissions.md) -------------------------------------

# "A user's programs are the programs where they have an active membership; their
# districts are the districts of those programs."
MY_PROGRAMS = (
    "SELECT mp.id_program FROM user_program mp WHERE mp.id_user = :me AND mp.status = 'active'"
)
MY_DISTRICTS = (
    f"SELECT md.id_school_district FROM program md WHERE md.id_program IN ({MY_PROGRAMS})"
)
DISTRICT_PROGRAMS = (
    f"SELECT dp.id_program FROM program dp WHERE dp.id_school_district IN ({MY_DISTRICTS})"
)
DISTRICT_STUDENTS = (
    f"SELECT ds.id_student FROM student ds WHERE ds.id_program IN ({DISTRICT_PROGRAMS})"
)
PROGRAM_STUDENTS = f"SELECT ps.id_student FROM student ps WHERE ps.id_program IN ({MY_PROGRAMS})"
ASSIGNED_STUDENTS = "SELECT a.id_student FROM user_student a WHERE a.id_user = :me"
WRITABLE_LINK = " AND (a.access_level IS NULL OR a.access_level <> 'read')"
DISTRICT_STAFF = (
    f"SELECT du.id_user FROM user_program du WHERE du.id_program IN ({DISTRICT_PROGRAMS})"
)
# `{user}` is the quoted user table and `{int}` the dialect's integer cast type, filled
# in by readable_ids.
HOME_STAFF = (
    f"SELECT hs.id_user FROM {{user}} hs WHERE hs.id_school_district_home IN ({MY_DISTRICTS})"
)
PROGRAM_STAFF = (
    "SELECT au.id_user FROM user_program au "
    f"WHERE au.status = 'active' AND au.id_program IN ({MY_PROGRAMS})"
)

TABLES = {
    "student": ("student", "id_student"),
    "student_access": ("user_student", "id_user_student"),
    "goal": ("goal", "id_goal"),
    "health_note": ("health_note", "id_health_note"),
    "progress_event": ("progress_event", "id_progress_event"),
    "progress_report": ("progress_report", "id_progress_report"),
    "program": ("program", "id_program"),
    "program_membership": ("user_program", "id_user_program"),
    "school_district": ("school_district", "id_school_district"),
    "user": ("user", "id_user"),
    "audit_event": ("audit_event", "id_audit_event"),
    "role": ("role", "id_role"),
    "permission": ("permission", "id_permission"),
}


def _integer_type(database: Database) -> str:
    return "SIGNED" if database.backend == "mysql" else "INTEGER"


def _quoted_user(database: Database) -> str:
    # "user" is a reserved word on PostgreSQL; each dialect quotes it its own way.
    return database.engine.dialect.identifier_preparer.quote("user")


def _student_scope(scope: str, column: str) -> str | None:
    return {
        "global": "1 = 1",
        "district": f"{column} IN ({DISTRICT_STUDENTS})",
        "program": f"{column} IN ({PROGRAM_STUDENTS})",
        "assigned": f"{column} IN ({ASSIGNED_STUDENTS})",
    }.get(scope)


def _any(conditions: list[str]) -> str:
    return "(" + " OR ".join(conditions) + ")" if conditions else "1 = 0"


def scope_condition(resource: str, scope: str, rights: Rights, action: str = "read") -> str:
    """One row of the docs' scope table, over the record aliased `r` (`:me` is the
    signed-in user). `rights` is needed by `own`, which also asks that the user can
    read the student."""
    if resource in ("role", "permission"):
        return "1 = 1"  # roles are not scoped: any right on them is global
    if scope == "global":
        return "1 = 1"
    if resource in STUDENT_RECORDS:
        if scope == "own":
            if resource in ("student", "student_access"):
                return "1 = 0"  # these tables record no author
            readable_student = _any(
                [
                    condition
                    for held in sorted(rights.scopes("student", "read"))
                    if (condition := _student_scope(held, "r.id_student"))
                ]
            )
            if action != "read":
                # "read-only means read-only": a read-level assignment reaches the
                # student for reads alone.
                readable_student = readable_student.replace(
                    ASSIGNED_STUDENTS, ASSIGNED_STUDENTS + WRITABLE_LINK
                )
            return f"(r.id_user_created = :me AND {readable_student})"
        return _student_scope(scope, "r.id_student") or "1 = 0"
    if resource == "program":
        return {
            "district": f"r.id_program IN ({DISTRICT_PROGRAMS})",
            "program": f"r.id_program IN ({MY_PROGRAMS})",
        }.get(scope, "1 = 0")
    if resource == "program_membership":
        return {
            "district": f"r.id_program IN ({DISTRICT_PROGRAMS})",
            "program": f"r.id_program IN ({MY_PROGRAMS})",
            "own": "r.id_user = :me",
        }.get(scope, "1 = 0")
    if resource == "school_district":
        if scope in ("district", "program"):
            return f"r.id_school_district IN ({MY_DISTRICTS})"
        return "1 = 0"
    if resource == "user":
        return {
            # "accounts at home in my districts, and staff with a membership in my
            # districts' programs"
            "district": (
                f"(r.id_school_district_home IN ({MY_DISTRICTS}) "
                f"OR r.id_user IN ({DISTRICT_STAFF}))"
            ),
            # "active members of my programs, and me"
            "program": f"(r.id_user IN ({PROGRAM_STAFF}) OR r.id_user = :me)",
            "own": "r.id_user = :me",
        }.get(scope, "1 = 0")
    if resource == "audit_event" and scope == "district":
        # "rows about students of my districts; rows about no student by the home
        # district of the account concerned: the account itself for rows about
        # accounts, else the acting one"
        return (
            f"(r.id_student IN ({DISTRICT_STUDENTS}) OR (r.id_student IS NULL AND ("
            "(r.resource = 'user' AND r.record_id IS NOT NULL AND "
            f"{record_key('user')} IN ({HOME_STAFF})) OR "
            f"((r.resource <> 'user' OR r.record_id IS NULL) AND r.id_user IN ({HOME_STAFF})))))"
        )
    return "1 = 0"


def record_key(resource: str) -> str:
    """ "record_id, as the number it is, on rows about the resource"."""
    return f"(CASE WHEN r.resource = '{resource}' THEN CAST(r.record_id AS {{int}}) END)"


def audit_visibility(rights: Rights) -> str:
    """ "Rows about health notes only to readers of the student's health notes, rows
    about sensitive events only to readers of those"."""

    def on_student(resource: str, action: str) -> str:
        return _any(
            [
                condition
                for held in sorted(rights.scopes(resource, action))
                if (condition := _student_scope(held, "r.id_student"))
            ]
        )

    sensitive_events = (
        "SELECT se.id_progress_event FROM progress_event se WHERE se.is_sensitive = TRUE"
    )
    return (
        f"(r.resource <> 'health_note' OR {on_student('health_note', 'read')}) AND "
        f"(NOT (r.resource = 'progress_event' AND r.record_id IS NOT NULL AND "
        f"{record_key('progress_event')} IN ({sensitive_events})) "
        f"OR {on_student('progress_event', 'read_sensitive')})"
    )


def readable_ids(
    database: Database,
    resource: str,
    id_user: int,
    rights: Rights,
    *,
    where: str = "",
    params: dict[str, object] | None = None,
    scopes: frozenset[str] | None = None,
    hide_sensitive: bool = True,
) -> set[int]:
    """Ids of the records the user may read: the union of their read scopes, and for
    progress events only the non-sensitive ones unless read_sensitive is in scope too.
    `where` narrows to a sub-collection (e.g. "r.id_student = :id_student")."""
    # Permissions (and role links) are read under the `role` resource.
    right_on = "role" if resource == "permission" else resource
    held = rights.scopes(right_on, "read") if scopes is None else scopes
    table, key = TABLES[resource]
    if table == "user":
        table = _quoted_user(database)
    condition = _any([scope_condition(resource, scope, rights) for scope in sorted(held)])
    if resource == "progress_event" and hide_sensitive:
        sensitive_scopes = rights.scopes(resource, "read_sensitive")
        may_see_sensitive = _any(
            [scope_condition(resource, scope, rights) for scope in sorted(sensitive_scopes)]
        )
        condition += (
            f" AND (r.is_sensitive IS NULL OR r.is_sensitive = FALSE OR {may_see_sensitive})"
        )
    if resource == "audit_event":
        condition = f"({condition}) AND {audit_visibility(rights)}"
    condition = condition.replace("{user}", _quoted_user(database)).replace(
        "{int}", _integer_type(database)
    )
    statement = f"SELECT r.{key} FROM {table} r WHERE {condition}"
    if where:
        statement += f" AND {where}"
    with database.engine.connect() as connection:
        rows = connection.execute(text(statement), {"me": id_user, **(params or {})})
        return {int(row[0]) for row in rows}


def in_scope(
    database: Database, resource: str, scope: str, id_user: int, record_id: int, rights: Rights
) -> bool:
    """Is this one record inside this one scope of the user (sensitivity aside)?"""
    _, key = TABLES[resource]
    found = readable_ids(
        database,
        resource,
        id_user,
        rights,
        scopes=frozenset({scope}),
        where=f"r.{key} = :record_id",
        params={"record_id": record_id},
        hide_sensitive=False,
    )
    return record_id in found


# -- the demo district's side (A) ---------------------------------------------------


def staff_name(role: str) -> str:
    """The first demo staff member holding the role."""
    return next(member.name for member in STAFF if member.role == role)


def sign_in(client: TestClient, email: str, password: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def sign_in_as(client: TestClient, settings: Settings, role: str) -> dict[str, str]:
    return sign_in(client, demo_email(staff_name(role)), settings.demo_password)


@dataclass(frozen=True)
class DistrictA:
    """In-scope targets for one signed-in user, in the demo district."""

    id_user: int
    id_author: int
    id_school_district: int
    id_program: int
    id_program_spare: int
    spare_program_in_scope: bool
    id_member: int
    id_membership: int
    id_colleague: int
    id_student: int
    id_student_spare: int
    spare_student_assigned: bool
    id_goal: int
    id_event: int
    id_event_sensitive: int
    id_note: int
    id_report: int
    id_access: int
    id_role_spare: int


DEMO_STAFF = "u.email LIKE '%@riverbend-usd.example'"


def _narrowest(scopes: frozenset[str]) -> str | None:
    ranked = [scope for scope in SCOPE_ORDER if scope in scopes and scope != "own"]
    return ranked[-1] if ranked else None


def _first(database: Database, statement: str, **params: object) -> int:
    with database.engine.connect() as connection:
        value = connection.execute(text(statement), params).scalar()
    assert value is not None, f"no row for {statement} {params}"
    return int(value)


def build_district_a(
    database: Database, settings: Settings, id_user: int, rights: Rights
) -> DistrictA:
    """Pick the user's in-scope targets in the demo district and add the disposable
    records the matrix changes and deletes (leaf records, so a permitted delete is a
    204 rather than a 409 for dependants)."""
    user_table = _quoted_user(database)
    id_school_district = _first(
        database,
        "SELECT sd.id_school_district FROM school_district sd "
        "WHERE sd.contact_email LIKE '%@riverbend-usd.example'",
    )
    a_programs = "SELECT ap.id_program FROM program ap WHERE ap.id_school_district = :d"
    # The user's own program when they have one, else the district's first.
    id_program = _first(
        database,
        "SELECT COALESCE("
        f"(SELECT MIN(op.id_program) FROM program op WHERE op.id_program IN ({MY_PROGRAMS})),"
        f" (SELECT MIN(fp.id_program) FROM program fp WHERE fp.id_program IN ({a_programs})))",
        me=id_user,
        d=id_school_district,
    )
    # The student: the first one in the narrowest scope the user reads students in
    # (their caseload, their program, their district), else the district's first.
    scope = _narrowest(rights.scopes("student", "read"))
    student_scope = _student_scope(scope, "st.id_student") if scope else None
    id_student = _first(
        database,
        "SELECT MIN(st.id_student) FROM student st "
        f"WHERE st.id_program IN ({a_programs}) AND {student_scope or '1 = 1'}",
        me=id_user,
        d=id_school_district,
    )
    id_author = _first(
        database,
        f"SELECT MIN(u.id_user) FROM {user_table} u WHERE u.id_user <> :me AND {DEMO_STAFF}",
        me=id_user,
    )
    id_colleague = _first(
        database,
        "SELECT MIN(up.id_user) FROM user_program up "
        "WHERE up.id_program = :p AND up.status = 'active' AND up.id_user <> :me",
        p=id_program,
        me=id_user,
    )
    # The new member already works in another program, so that accounts placed in no
    # program (the system administrator's) stay unplaced for the `user` scope rule.
    id_member = _first(
        database,
        f"SELECT MIN(u.id_user) FROM {user_table} u WHERE u.id_user <> :me AND {DEMO_STAFF} "
        "AND u.id_user IN (SELECT o.id_user FROM user_program o WHERE o.id_program <> :p) "
        "AND u.id_user NOT IN (SELECT m.id_user FROM user_program m WHERE m.id_program = :p)",
        me=id_user,
        p=id_program,
    )
    id_assignee = _first(
        database,
        f"SELECT MIN(u.id_user) FROM {user_table} u WHERE u.id_user <> :me AND {DEMO_STAFF} "
        "AND u.id_user "
        "NOT IN (SELECT x.id_user FROM user_student x WHERE x.id_student = :s)",
        me=id_user,
        s=id_student,
    )
    program_read = rights.scopes("program", "read")
    cipher = HealthNoteCipher.from_settings(settings)
    with database.session_scope() as session:
        id_student_program = session.get(Student, id_student).id_program  # type: ignore[union-attr]
        spare_program = Program(
            id_school_district=id_school_district, name="Matrix spare program", created_at=STAMP
        )
        spare_student = Student(
            id_program=id_student_program,
            identifier="MATRIX-A-SPARE",
            program_year=1,
            enrollment_date=date(2025, 8, 20),
            created_at=STAMP,
        )
        membership = UserProgram(
            id_user=id_member, id_program=id_program, is_primary=False, status="active"
        )
        goal = Goal(
            id_student=id_student,
            id_user_created=id_author,
            title="Matrix leaf goal",
            category="Reading",
            created_at=STAMP,
            updated_at=STAMP,
        )
        events = [
            ProgressEvent(
                id_student=id_student,
                id_user_created=id_author,
                content=content,
                is_sensitive=sensitive,
                created_at=STAMP,
                updated_at=STAMP,
            )
            for content, sensitive in (
                ("Matrix event.", False),
                ("Matrix sensitive event.", True),
            )
        ]
        note = HealthNote(
            id_student=id_student,
            id_user_created=id_author,
            content=cipher.encrypt("Matrix health note."),
            created_at=STAMP,
        )
        report = ProgressReport(
            id_student=id_student,
            id_user_created=id_author,
            period="Q4",
            year=2026,
            summary="Matrix draft report.",
            generated_at=STAMP,
        )
        access = UserStudent(
            id_user=id_assignee, id_student=id_student, access_level="write", is_primary=False
        )
        role = Role(name="matrix_spare_role", description="Disposable.", created_at=STAMP)
        session.add_all(
            [spare_program, spare_student, membership, goal, *events, note, report, access, role]
        )
        session.flush()
        # A caseload-only reader sees the spare student only through an assignment,
        # which then makes a permitted delete a 409 (the student still has one).
        spare_student_assigned = scope == "assigned"
        if spare_student_assigned:
            session.add(
                UserStudent(
                    id_user=id_user,
                    id_student=spare_student.id_student,
                    access_level="write",
                    is_primary=False,
                )
            )
        return DistrictA(
            id_user=id_user,
            id_author=id_author,
            id_school_district=id_school_district,
            id_program=id_program,
            id_program_spare=spare_program.id_program,
            # A new program is nobody's program: only district or global readers see it.
            spare_program_in_scope=bool(program_read & {"global", "district"}),
            id_member=id_member,
            id_membership=membership.id_user_program,
            id_colleague=id_colleague,
            id_student=id_student,
            id_student_spare=spare_student.id_student,
            spare_student_assigned=spare_student_assigned,
            id_goal=goal.id_goal,
            id_event=events[0].id_progress_event,
            id_event_sensitive=events[1].id_progress_event,
            id_note=note.id_health_note,
            id_report=report.id_progress_report,
            id_access=access.id_user_student,
            id_role_spare=role.id_role,
        )


# -- the second district (B): outside every scope but `global` ---------------------


@dataclass(frozen=True)
class DistrictB:
    id_school_district: int
    id_program: int
    id_staff: int
    id_membership: int
    id_student: int
    id_student_spare: int
    id_goal: int
    id_goal_spare: int
    id_event: int
    id_event_sensitive: int
    id_report: int
    id_note: int
    id_access: int


def build_district_b(database: Database, settings: Settings, id_lapsed: int) -> DistrictB:
    """Northbrook: one program, a staff member placed in it and assigned to its student,
    and one record of every student-owned kind. The spare student and the spare (leaf)
    goal have nothing hanging on them, so a global delete of them is a plain 204.

    `id_lapsed` (the signed-in user) gets an inactive membership of the program: only
    active memberships grant access, so the district stays outside their scopes."""
    cipher = HealthNoteCipher.from_settings(settings)
    with database.session_scope() as session:
        id_case_manager = session.scalar(
            text("SELECT ro.id_role FROM role ro WHERE ro.name = 'case_manager'")
        )
        district = SchoolDistrict(
            name="Northbrook Public Schools", contact_email=f"office@{B_DOMAIN}", created_at=STAMP
        )
        session.add(district)
        session.flush()
        program = Program(
            id_school_district=district.id_school_district,
            name="Northbrook Learning Support",
            created_at=STAMP,
        )
        staff = User(
            email=f"ines.varga@{B_DOMAIN}",
            name="Ines Varga",
            id_role=id_case_manager,
            failed_login_attempts=0,
            created_at=STAMP,
        )
        session.add_all([program, staff])
        session.flush()
        membership = UserProgram(
            id_user=staff.id_user, id_program=program.id_program, is_primary=True, status="active"
        )
        lapsed = UserProgram(
            id_user=id_lapsed, id_program=program.id_program, is_primary=False, status="inactive"
        )
        students = [
            Student(
                id_program=program.id_program,
                identifier=identifier,
                program_year=2,
                enrollment_date=date(2024, 8, 20),
                created_at=STAMP,
            )
            for identifier in ("NB-0001", "NB-0002")
        ]
        session.add_all([membership, lapsed, *students])
        session.flush()
        student = students[0]
        goals = [
            Goal(
                id_student=student.id_student,
                id_user_created=staff.id_user,
                title=title,
                category="Math",
                created_at=STAMP,
                updated_at=STAMP,
            )
            for title in ("Northbrook goal with records", "Northbrook spare goal")
        ]
        session.add_all(goals)
        session.flush()
        events = [
            ProgressEvent(
                id_student=student.id_student,
                id_goal=goals[0].id_goal,
                id_user_created=staff.id_user,
                content=content,
                is_sensitive=sensitive,
                created_at=STAMP,
                updated_at=STAMP,
            )
            for content, sensitive in (
                ("Northbrook event.", False),
                ("Northbrook sensitive event.", True),
            )
        ]
        report = ProgressReport(
            id_student=student.id_student,
            id_goal=goals[0].id_goal,
            id_user_created=staff.id_user,
            period="Q1",
            year=2025,
            summary="Northbrook draft report.",
            generated_at=STAMP,
        )
        note = HealthNote(
            id_student=student.id_student,
            id_user_created=staff.id_user,
            content=cipher.encrypt("Northbrook health note."),
            created_at=STAMP,
        )
        access = UserStudent(
            id_user=staff.id_user,
            id_student=student.id_student,
            access_level="write",
            is_primary=True,
        )
        session.add_all([*events, report, note, access])
        session.flush()
        return DistrictB(
            id_school_district=district.id_school_district,
            id_program=program.id_program,
            id_staff=staff.id_user,
            id_membership=membership.id_user_program,
            id_student=student.id_student,
            id_student_spare=students[1].id_student,
            id_goal=goals[0].id_goal,
            id_goal_spare=goals[1].id_goal,
            id_event=events[0].id_progress_event,
            id_event_sensitive=events[1].id_progress_event,
            id_report=report.id_progress_report,
            id_note=note.id_health_note,
            id_access=access.id_user_student,
        )
