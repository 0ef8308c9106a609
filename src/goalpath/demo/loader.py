"""The demo district: realistic, deterministic, and never mixed with real data.

Riverbend Unified is made up. Every account's email is at DEMO_DOMAIN, which is how the
loader recognises its own data and refuses to write into a database holding anything
else. The same seed gives the same district on every backend.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from goalpath.config import Settings
from goalpath.db import Database
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

DEMO_DOMAIN = "riverbend-usd.example"
DISTRICT_NAME = "Riverbend Unified School District"
SEED = 20260825
# Two school years of history, ending on a fixed day so every load is identical.
HISTORY_START = date(2025, 8, 18)
HISTORY_END = date(2026, 11, 20)


class DemoRefused(Exception):
    pass


@dataclass(frozen=True)
class StaffMember:
    name: str
    role: str
    programs: tuple[int, ...]


PROGRAMS = (
    ("Special Education - Elementary", "IEP services for grades K-5 across four campuses."),
    ("Special Education - Secondary", "IEP services and transition planning for grades 6-12."),
    ("English Learner Support", "Language development plans for multilingual learners."),
    ("Student Wellness", "Counseling, attendance and welfare support district-wide."),
)

STAFF = (
    StaffMember("Dana Whitfield", "system_admin", ()),
    StaffMember("Marcus Oyelaran", "district_admin", (0, 1, 2, 3)),
    StaffMember("Priya Raman", "program_coordinator", (0,)),
    StaffMember("Tomasz Nowak", "program_coordinator", (1, 2)),
    StaffMember("Elena Castillo", "case_manager", (0,)),
    StaffMember("Jordan Blake", "case_manager", (0,)),
    StaffMember("Aisha Mbeki", "case_manager", (1,)),
    StaffMember("Kenji Watanabe", "case_manager", (2,)),
    StaffMember("Grace Okafor", "counselor", (0, 3)),
    StaffMember("Samuel Lindqvist", "counselor", (1, 3)),
    StaffMember("Hannah Brooks", "nurse", (0, 1)),
    StaffMember("Victor Almeida", "auditor", (0, 1, 2, 3)),
)

GOAL_TEMPLATES = {
    "Reading": (
        "Read grade-level passages at {n} words per minute with 95% accuracy",
        ["Decode multisyllabic words", "Retell the main idea and two details"],
    ),
    "Math": (
        "Solve two-step word problems with {n}% accuracy",
        ["Identify the operation from key words", "Check answers with estimation"],
    ),
    "Communication": (
        "Initiate and sustain a conversation for {n} exchanges",
        ["Use greetings with peers", "Ask a follow-up question"],
    ),
    "Social-emotional": (
        "Use a calming strategy in {n} of 5 observed frustrating moments",
        ["Name the feeling", "Choose a strategy from the menu"],
    ),
    "Transition": (
        "Complete a job-site task sequence with {n} or fewer prompts",
        ["Follow a visual schedule", "Ask for help appropriately"],
    ),
    "Writing": (
        "Write a paragraph with a topic sentence and {n} supporting details",
        ["Plan with a graphic organiser", "Edit for capitals and punctuation"],
    ),
}

EVENT_NOTES = (
    "Worked on {goal} in small group; met criterion on {a} of {b} trials.",
    "Practised {goal} with visual supports; {a}/{b} correct, fewer prompts than last week.",
    "Probe for {goal}: {a} of {b}. Steady progress.",
    "Generalised {goal} in the general-education classroom; {a}/{b} independent.",
    "Absent for part of the session; partial data on {goal} ({a}/{b}).",
    "Reviewed {goal} with the student; set a target of {b} for next week.",
)
SENSITIVE_NOTES = (
    "Student disclosed stress at home; counselor follow-up arranged.",
    "Behaviour incident during lunch; parent contacted, safety plan reviewed.",
    "Attendance concern discussed with family liaison.",
)
HEALTH_NOTES = (
    "Asthma action plan on file; inhaler kept in the nurse's office.",
    "Seasonal allergies; may need a break from outdoor activities in spring.",
    "Weekly check-ins with the counselor agreed with the family.",
    "Type 1 diabetes: glucose check before lunch, snacks allowed in class.",
    "Returning after a hospital stay; reduced workload for two weeks.",
)


def demo_email(name: str) -> str:
    first, last = name.lower().split(" ", 1)
    return f"{first}.{last.replace(' ', '')}@{DEMO_DOMAIN}"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _state(session: Session) -> str:
    """'empty', 'demo' or 'other'."""
    users = session.scalar(select(func.count()).select_from(User)) or 0
    districts = session.scalar(select(func.count()).select_from(SchoolDistrict)) or 0
    if users == 0 and districts == 0:
        return "empty"
    foreign_users = session.scalar(
        select(func.count()).select_from(User).where(~User.email.like(f"%@{DEMO_DOMAIN}"))
    )
    foreign_districts = session.scalar(
        select(func.count())
        .select_from(SchoolDistrict)
        .where(~SchoolDistrict.contact_email.like(f"%@{DEMO_DOMAIN}"))
    )
    return "other" if foreign_users or foreign_districts else "demo"


def load_demo(
    database: Database,
    settings: Settings,
    *,
    only_if_empty: bool = False,
    require_second_factor: bool = False,
) -> str:
    with database.session_scope() as session:
        state = _state(session)
        if state == "demo":
            return "the demo district is already loaded; nothing changed"
        if state == "other":
            if only_if_empty:
                return "the database already holds data; the demo district was not loaded"
            raise DemoRefused(
                "the database already holds data that is not the demo district's; "
                "load the demo into an empty database"
            )
        counts = _build(session, settings)
        if not require_second_factor:
            # A one-step tryout (SPEC section 12): nobody in the demo has a second factor,
            # so no role may require one unless asked for.
            session.execute(update(Role).values(requires_second_factor=False))
    return "loaded the demo district: " + ", ".join(f"{n} {what}" for what, n in counts.items())


def _build(session: Session, settings: Settings) -> dict[str, int]:
    rng = random.Random(SEED)
    cipher = HealthNoteCipher.from_settings(settings)
    created = _at(HISTORY_START - timedelta(days=30), 9)
    district = SchoolDistrict(
        name=DISTRICT_NAME, contact_email=f"office@{DEMO_DOMAIN}", created_at=created
    )
    session.add(district)
    session.flush()
    programs = [
        Program(
            id_school_district=district.id_school_district,
            name=name,
            description=description,
            created_at=created,
        )
        for name, description in PROGRAMS
    ]
    session.add_all(programs)
    session.flush()

    role_ids = dict(session.execute(select(Role.name, Role.id_role)).all())
    # One hash for every demo account: they share the printed demo password.
    password_hash = passwords_from(settings).hash(settings.demo_password)
    staff: list[tuple[User, StaffMember]] = []
    for member in STAFF:
        user = User(
            email=demo_email(member.name),
            name=member.name,
            id_role=role_ids.get(member.role),
            # The system administrator belongs to no district (SPEC section 11).
            id_school_district_home=(
                None if member.role == "system_admin" else district.id_school_district
            ),
            password_hash=password_hash,
            password_updated_at=created,
            failed_login_attempts=0,
            created_at=created,
        )
        session.add(user)
        staff.append((user, member))
    session.flush()
    for user, member in staff:
        session.add(
            PasswordHistory(id_user=user.id_user, password_hash=password_hash, created_at=created)
        )
        for position, program_index in enumerate(member.programs):
            session.add(
                UserProgram(
                    id_user=user.id_user,
                    id_program=programs[program_index].id_program,
                    is_primary=position == 0,
                    status="active",
                    joined_at=created,
                )
            )

    students: list[Student] = []
    for index in range(48):
        program = programs[index % 3]
        year = 1 + index % 4
        enrolled = date(2022 + index % 4, 8, 20)
        students.append(
            Student(
                id_program=program.id_program,
                identifier=f"RUSD-{104200 + index * 37}",
                program_year=year,
                enrollment_date=enrolled,
                expected_grad=date(2027 + (4 - year), 6, 12),
                created_at=_at(enrolled, 8),
            )
        )
    session.add_all(students)
    session.flush()

    # Caseloads: each case manager holds the students of their program in turn;
    # counselors hold every third student of their programs.
    by_program: dict[int, list[Student]] = {}
    for student in students:
        by_program.setdefault(student.id_program or 0, []).append(student)
    assignments = 0
    for user, member in staff:
        if member.role not in ("case_manager", "counselor"):
            continue
        program_ids = [programs[i].id_program for i in member.programs]
        caseload = [s for pid in program_ids for s in by_program.get(pid, [])]
        if member.role == "counselor":
            caseload = caseload[::3]
        else:
            peers = [
                u for u, m in staff if m.role == "case_manager" and m.programs == member.programs
            ]
            slot = peers.index(user)
            caseload = caseload[slot :: len(peers)]
        for student in caseload:
            session.add(
                UserStudent(
                    id_user=user.id_user,
                    id_student=student.id_student,
                    access_level="write",
                    is_primary=member.role == "case_manager",
                )
            )
            assignments += 1
    session.flush()

    authors = [user for user, member in staff if member.role in ("case_manager", "counselor")]
    counselors = [user for user, member in staff if member.role in ("counselor", "nurse")]
    categories = sorted(GOAL_TEMPLATES)
    goal_count = event_count = note_count = report_count = 0
    for student in students:
        author = rng.choice(authors)
        chosen = rng.sample(categories, k=rng.randint(2, 3))
        leaves: list[Goal] = []
        for category in chosen:
            title, subgoals = GOAL_TEMPLATES[category]
            goal_created = _at(HISTORY_START + timedelta(days=rng.randint(0, 20)), 10)
            goal = Goal(
                id_student=student.id_student,
                id_user_created=author.id_user,
                title=title.format(n=rng.choice((3, 4, 80, 90, 110))),
                description=f"Annual {category.lower()} goal from the current plan.",
                category=category,
                created_at=goal_created,
                updated_at=goal_created,
            )
            session.add(goal)
            session.flush()
            goal_count += 1
            leaves.append(goal)
            for sub_title in subgoals[: rng.randint(1, 2)]:
                sub_goal = Goal(
                    id_goal_parent=goal.id_goal,
                    id_student=student.id_student,
                    id_user_created=author.id_user,
                    title=sub_title,
                    category=category,
                    created_at=goal_created,
                    updated_at=goal_created,
                )
                session.add(sub_goal)
                goal_count += 1
                leaves.append(sub_goal)
        session.flush()

        events = []
        day = HISTORY_START + timedelta(days=rng.randint(0, 6))
        while day <= HISTORY_END:
            if day.weekday() < 5 and not (date(day.year, 6, 15) <= day <= date(day.year, 8, 15)):
                goal = rng.choice(leaves)
                sensitive = rng.random() < 0.06
                trials = rng.randint(5, 10)
                content = (
                    rng.choice(SENSITIVE_NOTES)
                    if sensitive
                    else rng.choice(EVENT_NOTES).format(
                        goal=(goal.title or "").lower()[:60], a=rng.randint(1, trials), b=trials
                    )
                )
                stamp = _at(day, rng.randint(13, 21), rng.randint(0, 59))
                events.append(
                    {
                        "id_student": student.id_student,
                        "id_goal": goal.id_goal,
                        "id_user_created": author.id_user,
                        "content": content,
                        "is_sensitive": sensitive,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                )
            day += timedelta(days=rng.randint(2, 5))
        session.execute(insert(ProgressEvent), events)
        event_count += len(events)

        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 2)):
                stamp = _at(HISTORY_START + timedelta(days=rng.randint(10, 400)), 15)
                session.add(
                    HealthNote(
                        id_student=student.id_student,
                        id_user_created=rng.choice(counselors).id_user,
                        content=cipher.encrypt(rng.choice(HEALTH_NOTES)),
                        created_at=stamp,
                    )
                )
                note_count += 1

        for goal in leaves:
            if goal.id_goal_parent is not None:
                continue
            for period, generated in (("Q1", date(2025, 11, 3)), ("Q2", date(2026, 1, 26))):
                session.add(
                    ProgressReport(
                        id_student=student.id_student,
                        id_goal=goal.id_goal,
                        id_user_created=author.id_user,
                        period=period,
                        year=2025,
                        summary=(
                            f"{goal.title}: progress was logged regularly this period; "
                            "the student is on track to meet the annual goal."
                        ),
                        generated_at=_at(generated, 16),
                    )
                )
                report_count += 1
    session.flush()
    return {
        "programs": len(programs),
        "staff": len(staff),
        "students": len(students),
        "assignments": assignments,
        "goals": goal_count,
        "progress events": event_count,
        "health notes": note_count,
        "progress reports": report_count,
    }
