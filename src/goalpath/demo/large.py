"""A large district for the benchmark: deterministic, written with bulk inserts.

At scale 1.0: 200 programs, 100,000 students, 8,000 staff with caseloads of 12-50,
15% of students with IEP goal trees (135,000 goals; one student has a 200-goal tree
four levels deep), 10,000,000 progress events over three school years (5% sensitive),
health notes and reports. `scale` shrinks every count for quick runs (CI uses 0.002).

Rows go in through the driver's executemany in large batches, bypassing the ORM, and
ids are assigned here so no row has to be read back.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import DemoRefused
from goalpath.demo.texts import NURSE_NOTES, SENSITIVE_NOTES
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import (
    Goal,
    HealthNote,
    PasswordHistory,
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
from goalpath.users.service import passwords_from

LARGE_DOMAIN = "metro-usd.example"
SEED = 400_000
START = date(2023, 8, 21)
END = date(2026, 6, 12)
BATCH = 20_000
TREE_STUDENT_GOALS = 200


@dataclass(frozen=True)
class Sizes:
    programs: int
    students: int
    staff: int
    iep_share: float
    events: int
    health_notes: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(
            programs=max(2, round(200 * scale)),
            students=max(40, round(100_000 * scale)),
            staff=max(30, round(8_000 * scale)),
            iep_share=0.15,
            events=max(2_000, round(10_000_000 * scale)),
            health_notes=max(20, round(20_000 * scale)),
        )


def large_email(kind: str, number: int) -> str:
    return f"{kind}{number}@{LARGE_DOMAIN}"


def _batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(
    connection: Connection, table: Any, rows: Iterator[dict[str, Any]] | Sequence[dict[str, Any]]
) -> int:
    count = 0
    for batch in _batches(iter(rows)):
        connection.execute(insert(table), batch)
        count += len(batch)
    return count


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


def school_days() -> list[date]:
    days = []
    day = START
    while day <= END:
        summer = date(day.year, 6, 15) <= day <= date(day.year, 8, 20)
        if day.weekday() < 5 and not summer:
            days.append(day)
        day += timedelta(days=1)
    return days


def generate_large(database: Database, settings: Settings, *, scale: float = 1.0) -> dict[str, int]:
    sizes = Sizes.at(scale)
    rng = random.Random(SEED)
    with database.engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(User)):
            raise DemoRefused(
                "the large dataset needs an empty database (run `goalpath db upgrade` on a new one)"
            )
    counts: dict[str, int] = {}
    cipher = HealthNoteCipher.from_settings(settings)
    created = _at(START - timedelta(days=30), 8 * 3600)
    password_hash = passwords_from(settings).hash(settings.demo_password)
    with database.engine.begin() as connection:
        roles = dict(connection.execute(select(Role.name, Role.id_role)).all())
        connection.execute(
            insert(SchoolDistrict),
            [
                {
                    "id_school_district": 1,
                    "name": "Metro Unified School District",
                    "contact_email": f"office@{LARGE_DOMAIN}",
                    "created_at": created,
                }
            ],
        )
        program_ids = list(range(1, sizes.programs + 1))
        counts["programs"] = _bulk(
            connection,
            Program.__table__,
            [
                {
                    "id_program": p,
                    "id_school_district": 1,
                    "name": f"Program {p:03d}",
                    "description": "Special education services",
                    "created_at": created,
                }
                for p in program_ids
            ],
        )

        # Staff: per program 2 coordinators, 4 counselors, 1 nurse and case managers for
        # the rest; a few district administrators, auditors and one system administrator.
        staff: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        by_program: dict[int, dict[str, list[int]]] = {p: {} for p in program_ids}
        next_user = 1

        def add(kind: str, role: str, programs: Sequence[int]) -> int:
            nonlocal next_user
            id_user = next_user
            next_user += 1
            staff.append(
                {
                    "id_user": id_user,
                    "id_role": roles[role],
                    "email": large_email(kind, id_user),
                    "name": f"Staff Member {id_user}",
                    "id_school_district_home": None if role == "system_admin" else 1,
                    "password_hash": password_hash,
                    "password_updated_at": created,
                    "failed_login_attempts": 0,
                    "created_at": created,
                }
            )
            for position, program in enumerate(programs):
                memberships.append(
                    {
                        "id_user": id_user,
                        "id_program": program,
                        "is_primary": position == 0,
                        "status": "active",
                        "joined_at": created,
                    }
                )
                by_program[program].setdefault(role, []).append(id_user)
            return id_user

        add("admin", "system_admin", [])
        for _ in range(max(1, sizes.staff // 160)):
            add("districtadmin", "district_admin", program_ids)
        for _ in range(max(1, sizes.staff // 160)):
            add("auditor", "auditor", program_ids)
        per_program_fixed = 2 + 4 + 1
        per_program_case = max(2, (sizes.staff - len(staff)) // sizes.programs - per_program_fixed)
        for program in program_ids:
            for _ in range(2):
                add("coordinator", "program_coordinator", [program])
            for _ in range(4):
                add("counselor", "counselor", [program])
            add("nurse", "nurse", [program])
            for _ in range(per_program_case):
                add("teacher", "case_manager", [program])
        counts["staff"] = _bulk(connection, User.__table__, staff)
        _bulk(connection, UserProgram.__table__, memberships)
        _bulk(
            connection,
            PasswordHistory.__table__,
            (
                {"id_user": row["id_user"], "password_hash": password_hash, "created_at": created}
                for row in staff
            ),
        )

        # Students: evenly over programs; identifiers unique district-wide.
        students_per_program = sizes.students // sizes.programs
        student_program: list[int] = []
        students = []
        for index in range(students_per_program * sizes.programs):
            program = program_ids[index // students_per_program]
            year = 1 + index % 4
            students.append(
                {
                    "id_student": index + 1,
                    "id_program": program,
                    "identifier": f"MUSD-{1_000_000 + index * 7}",
                    "program_year": year,
                    "enrollment_date": date(2020 + index % 6, 8, 20),
                    "expected_grad": date(2027 + (4 - year), 6, 10),
                    "created_at": created,
                }
            )
            student_program.append(program)
        counts["students"] = _bulk(connection, Student.__table__, students)

        # Caseloads: each student is held by two case managers and one counselor of the
        # program; with ~30 case managers a program that gives caseloads of 12-50.
        assignments = []
        for index, program in enumerate(student_program, start=1):
            managers = by_program[program]["case_manager"]
            first = managers[(index * 7) % len(managers)]
            second = managers[(index * 13 + 1) % len(managers)]
            for id_user, primary in ((first, True), (second, False)):
                assignments.append(
                    {
                        "id_user": id_user,
                        "id_student": index,
                        "access_level": "write",
                        "is_primary": primary,
                    }
                )
            counselors = by_program[program]["counselor"]
            assignments.append(
                {
                    "id_user": counselors[index % len(counselors)],
                    "id_student": index,
                    "access_level": "write",
                    "is_primary": False,
                }
            )
        unique = {(row["id_user"], row["id_student"]): row for row in assignments}
        counts["assignments"] = _bulk(connection, UserStudent.__table__, list(unique.values()))

        # Goal trees for IEP students: three roots with two sub-goals each (9 goals);
        # the first IEP student gets a 200-goal tree four levels deep (5 + 15 + 45 + 135).
        iep_students = [s for s in range(1, len(students) + 1) if rng.random() < sizes.iep_share]
        goals: list[dict[str, Any]] = []
        student_goals: dict[int, list[int]] = {}
        next_goal = 1

        def goal(id_student: int, parent: int | None, title: str) -> int:
            nonlocal next_goal
            id_goal = next_goal
            next_goal += 1
            owner = by_program[student_program[id_student - 1]]["case_manager"][0]
            goals.append(
                {
                    "id_goal": id_goal,
                    "id_goal_parent": parent,
                    "id_student": id_student,
                    "id_user_created": owner,
                    "title": title,
                    "description": None,
                    "category": "Academic",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            student_goals.setdefault(id_student, []).append(id_goal)
            return id_goal

        for position, id_student in enumerate(iep_students):
            if position == 0:
                for a in range(5):
                    root = goal(id_student, None, f"Annual goal {a + 1}")
                    for b in range(3):
                        second_level = goal(id_student, root, f"Objective {a + 1}.{b + 1}")
                        for c in range(3):
                            third = goal(id_student, second_level, f"Step {a + 1}.{b + 1}.{c + 1}")
                            for d in range(3):
                                goal(id_student, third, f"Task {a + 1}.{b + 1}.{c + 1}.{d + 1}")
                continue
            for a in range(3):
                root = goal(id_student, None, f"Annual goal {a + 1}")
                for b in range(2):
                    goal(id_student, root, f"Objective {a + 1}.{b + 1}")
        counts["goals"] = _bulk(connection, Goal.__table__, goals)
        counts["tree_student"] = iep_students[0] if iep_students else 0

        # Progress events: spread over the IEP students' goals, ordered by student and
        # time, 5% sensitive.
        days = school_days()
        per_student = max(1, sizes.events // max(1, len(iep_students)))
        notes = (
            "Worked on the objective in a small group; {a} of {b} trials correct.",
            "Probe: {a}/{b} correct. Prompts faded from verbal to gesture.",
            "Practised with visual supports; {a} of {b} independent.",
        )

        def events() -> Iterator[dict[str, Any]]:
            for id_student in iep_students:
                goal_ids = student_goals[id_student]
                author = by_program[student_program[id_student - 1]]["case_manager"][0]
                step = max(1, len(days) * 10 // per_student)
                for n in range(per_student):
                    day = days[(n * step // 10) % len(days)]
                    stamp = _at(day, 13 * 3600 + (n * 97) % 28_000)
                    sensitive = rng.random() < 0.05
                    trials = 5 + n % 6
                    yield {
                        "id_student": id_student,
                        "id_goal": goal_ids[n % len(goal_ids)],
                        "id_user_created": author,
                        "content": SENSITIVE_NOTES[n % len(SENSITIVE_NOTES)]
                        if sensitive
                        else notes[n % 3].format(a=1 + n % trials, b=trials),
                        "is_sensitive": sensitive,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }

        counts["progress_events"] = _bulk(connection, ProgressEvent.__table__, events())

        note_text = cipher.encrypt(NURSE_NOTES[3])
        counts["health_notes"] = _bulk(
            connection,
            HealthNote.__table__,
            (
                {
                    "id_student": 1 + (n * 37) % len(students),
                    "id_user_created": by_program[student_program[(n * 37) % len(students)]][
                        "nurse"
                    ][0],
                    "content": note_text,
                    "created_at": created,
                }
                for n in range(sizes.health_notes)
            ),
        )

        def reports() -> Iterator[dict[str, Any]]:
            for id_student in iep_students:
                roots = student_goals[id_student][::3][:3]
                author = by_program[student_program[id_student - 1]]["case_manager"][0]
                for year in (2023, 2024):
                    for period in ("Q1", "Q2", "Q3", "Q4"):
                        for id_goal in roots:
                            yield {
                                "id_student": id_student,
                                "id_goal": id_goal,
                                "id_user_created": author,
                                "period": period,
                                "year": year,
                                "summary": "Progress was checked regularly this quarter, and "
                                "the student is making steady progress toward the goal.",
                                "generated_at": created,
                            }

        counts["progress_reports"] = _bulk(connection, ProgressReport.__table__, reports())
        if database.backend == "postgresql":
            # Ids were assigned here, so the sequences must move past them.
            for table, column in (
                ("school_district", "id_school_district"),
                ("program", "id_program"),
                ("user", "id_user"),
                ("student", "id_student"),
                ("goal", "id_goal"),
            ):
                # Fixed table and column names, no input.
                statement = (
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "  # noqa: S608
                    f'(SELECT MAX({column}) FROM "{table}"))'
                )
                connection.exec_driver_sql(statement)
    if database.backend == "sqlite":
        with database.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    return counts
