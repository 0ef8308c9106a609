"""The demo district: realistic, deterministic, and never mixed with real data.

Riverbend Unified is made up. Every account's email is at DEMO_DOMAIN, which is how the
loader recognises its own data and refuses to write into a database holding anything
else. The same seed gives the same district on every backend.

Its words (goals, notes, health notes, reports) come from `texts.py` and are picked with
a random generator of their own, so the wording can change without moving a record. The
reports stand where a district's would on the demo's last day (20 November 2026): last
school year's Q1 and Q2 are final, signed off by each student's case manager; this
year's Q1 is final but for a few; in the current quarter (Q2 2026) the elementary
program has drafted nothing yet and the others have a mix of drafts, finals and reports
not yet drafted. Q3 and Q4 of 2025 are left empty, as periods tests draft into.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.plans import GoalPlan, goal_title
from goalpath.demo.texts import (
    PROGRAM_PLANS,
    SENSITIVE_NOTES,
    health_note,
    progress_note,
    report_summary,
)
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

# Breaks with no school (besides the summer): no notes are logged in them.
BREAKS = (
    (date(2025, 11, 24), date(2025, 11, 28)),
    (date(2025, 12, 22), date(2026, 1, 2)),
    (date(2026, 3, 30), date(2026, 4, 3)),
    (date(2026, 11, 23), date(2026, 11, 27)),
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
    primary_of: dict[int, int] = {}
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
            if member.role == "case_manager":
                primary_of[student.id_student] = user.id_user
    session.flush()

    authors = [user for user, member in staff if member.role in ("case_manager", "counselor")]
    counselors = [user for user, member in staff if member.role in ("counselor", "nurse")]
    nurses = {user.id_user for user, member in staff if member.role == "nurse"}
    # `rng` decides the district's shape (which goals, how many notes, when); `words`
    # only the wording, so the texts can change without moving a single record. The
    # draws from `rng` that only picked a wording before are still made (the bare
    # `rng.randrange` calls below): the district keeps the shape tests know.
    words = random.Random(SEED + 1)
    goal_count = event_count = 0
    notes: list[dict[str, object]] = []
    reports: list[dict[str, object]] = []
    for index, student in enumerate(students):
        author = rng.choice(authors)
        plans = PROGRAM_PLANS[index % 3]
        chosen = rng.sample(range(len(plans)), k=rng.randint(2, 3))
        # Each leaf goal with its plan and, for a sub-goal, its objective's position.
        leaves: list[tuple[Goal, GoalPlan, int | None]] = []
        for choice in chosen:
            plan = plans[choice]
            goal_created = _at(HISTORY_START + timedelta(days=rng.randint(0, 20)), 10)
            goal = Goal(
                id_student=student.id_student,
                id_user_created=author.id_user,
                title=goal_title(plan, rng.randrange(5)),
                description=plan.description,
                category=plan.category,
                created_at=goal_created,
                updated_at=goal_created,
            )
            session.add(goal)
            session.flush()
            goal_count += 1
            leaves.append((goal, plan, None))
            for place, objective in enumerate(plan.objectives[: rng.randint(1, 2)]):
                sub_goal = Goal(
                    id_goal_parent=goal.id_goal,
                    id_student=student.id_student,
                    id_user_created=author.id_user,
                    title=objective.title,
                    category=plan.category,
                    created_at=goal_created,
                    updated_at=goal_created,
                )
                session.add(sub_goal)
                goal_count += 1
                leaves.append((sub_goal, plan, place))
        session.flush()

        events = []
        # (root goal, period, year) -> the (day, hits, trials) of its plain notes.
        checks: dict[tuple[int, str, int], list[tuple[date, int, int]]] = {}
        day = HISTORY_START + timedelta(days=rng.randint(0, 6))
        while day <= HISTORY_END:
            if day.weekday() < 5 and not (date(day.year, 6, 15) <= day <= date(day.year, 8, 15)):
                goal, plan, objective_at = rng.choice(leaves)
                sensitive = rng.random() < 0.06
                trials = rng.randint(5, 10)
                if sensitive:
                    rng.randrange(3)
                    content = words.choice(SENSITIVE_NOTES)
                else:
                    variant = rng.randrange(6)
                    raw = rng.randint(1, trials)
                    # Progress over the year: later notes tend to count more successes.
                    growth = min(1.0, (day - HISTORY_START).days / 300)
                    hits = max(1, min(trials, round(0.4 * raw + trials * (0.25 + 0.45 * growth))))
                    templates = (
                        plan.notes if objective_at is None else plan.objectives[objective_at].notes
                    )
                    content = progress_note(
                        templates[variant % len(templates)],
                        hits=hits,
                        trials=trials,
                        growth=growth,
                        day=day,
                        words=words,
                    )
                stamp = _at(day, rng.randint(13, 21), rng.randint(0, 59))
                if not any(first <= day <= last for first, last in BREAKS):
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
                    quarter = _quarter(day)
                    if quarter is not None and not sensitive:
                        root = goal.id_goal_parent or goal.id_goal
                        checks.setdefault((root, *quarter), []).append((day, hits, trials))
            day += timedelta(days=rng.randint(2, 5))
        session.execute(insert(ProgressEvent), events)
        event_count += len(events)

        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 2)):
                stamp = _at(HISTORY_START + timedelta(days=rng.randint(10, 400)), 15)
                writer = rng.choice(counselors).id_user
                rng.randrange(5)
                notes.append(
                    {
                        "id_student": student.id_student,
                        "id_user_created": writer,
                        "content": cipher.encrypt(health_note(writer in nurses, words)),
                        "created_at": stamp,
                    }
                )

        for goal, plan, objective_at in leaves:
            if objective_at is not None:
                continue
            for period, year, state in _report_plan(index):
                generated, finalised = _report_days(period, year, state, words)
                reports.append(
                    {
                        "id_student": student.id_student,
                        "id_goal": goal.id_goal,
                        "id_user_created": author.id_user,
                        "period": period,
                        "year": year,
                        "summary": report_summary(
                            plan,
                            period,
                            checks.get((goal.id_goal, period, year), []),
                            so_far=(period, year) == CURRENT_PERIOD,
                        ),
                        "generated_at": generated,
                        "finalized_at": finalised,
                        "id_user_finalized": primary_of[student.id_student] if finalised else None,
                    }
                )
    session.execute(insert(HealthNote), notes)
    session.execute(insert(ProgressReport), reports)
    return {
        "programs": len(programs),
        "staff": len(staff),
        "students": len(students),
        "assignments": assignments,
        "goals": goal_count,
        "progress events": event_count,
        "health notes": len(notes),
        "progress reports": len(reports),
    }


# The reporting period the demo's last day falls in, and the school year before it.
CURRENT_PERIOD = ("Q2", 2026)


def _quarter(day: date) -> tuple[str, int] | None:
    """The demo's reported quarter (Q1 or Q2 of a school year) a day falls in."""
    if date(day.year, 8, 1) <= day <= date(day.year, 10, 15):
        return ("Q1", day.year)
    if date(day.year, 10, 16) <= day <= date(day.year, 12, 31):
        return ("Q2", day.year)
    return None


def _report_plan(index: int) -> list[tuple[str, int, str]]:
    """Which reports a student's goals have, and where each stands: last school year's
    are final; this year's Q1 is final but for a few still being finished; the current
    quarter has just begun (the elementary team has not started; the others have a mix
    of drafts, a few finals and reports not yet drafted)."""
    plan = [("Q1", 2025, "final"), ("Q2", 2025, "final")]
    plan.append(("Q1", 2026, "draft" if index % 8 == 0 else "final"))
    if index % 3 != 0:
        state = ("draft", "draft", "missing", "missing", "final")[(index // 3) % 5]
        if state != "missing":
            plan.append(("Q2", 2026, state))
    return plan


# When each period's reports were drafted: a few days after the quarter closed (the
# current quarter: the week before the demo's last day).
_DRAFTED = {
    ("Q1", 2025): date(2025, 11, 3),
    ("Q2", 2025): date(2026, 1, 26),
    ("Q1", 2026): date(2026, 10, 20),
    ("Q2", 2026): date(2026, 11, 16),
}


def _report_days(
    period: str, year: int, state: str, words: random.Random
) -> tuple[datetime, datetime | None]:
    drafted = _DRAFTED[(period, year)] + timedelta(days=words.randint(0, 2))
    if state != "final":
        return _at(drafted, 16), None
    signed = min(drafted + timedelta(days=words.randint(2, 10)), HISTORY_END)
    return _at(drafted, 16), _at(signed, words.randint(14, 21), words.randint(0, 59))
