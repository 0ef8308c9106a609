"""The daily requests the benchmark measures, with the users and records they need."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, func, select

from bench.run import Scenario

Call = Callable[..., Any]


def _pick(database_url: str) -> dict[str, Any]:
    from goalpath.db import normalise_url
    from goalpath.models import Goal, ProgressEvent, Role, Student, User, UserProgram, UserStudent

    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:

        def role_user(role: str) -> int:
            return int(
                connection.scalar(
                    select(func.min(User.id_user))
                    .join(Role, Role.id_role == User.id_role)
                    .where(Role.name == role)
                )
            )

        # The student with the 200-goal tree, its case manager, and a typical IEP student
        # of the same case manager.
        tree_student = connection.scalar(
            select(Goal.id_student).group_by(Goal.id_student).order_by(func.count().desc()).limit(1)
        )
        manager = connection.scalar(
            select(UserStudent.id_user)
            .join(User, User.id_user == UserStudent.id_user)
            .join(Role, Role.id_role == User.id_role)
            .where(UserStudent.id_student == tree_student, Role.name == "case_manager")
            .order_by(UserStudent.id_user)
            .limit(1)
        )
        typical = connection.scalar(
            select(ProgressEvent.id_student)
            .where(
                ProgressEvent.id_student.in_(
                    select(UserStudent.id_student).where(UserStudent.id_user == manager)
                ),
                ProgressEvent.id_student != tree_student,
            )
            .limit(1)
        )
        typical = typical or tree_student
        goal = connection.scalar(select(Goal.id_goal).where(Goal.id_student == typical).limit(1))
        coordinator = role_user("program_coordinator")
        program = connection.scalar(
            select(UserProgram.id_program).where(UserProgram.id_user == coordinator)
        )
        program_size = connection.scalar(
            select(func.count()).select_from(Student).where(Student.id_program == program)
        )
        emails = dict(
            connection.execute(
                select(User.id_user, User.email).where(User.id_user.in_([manager, coordinator]))
            ).all()
        )
        prefix = connection.scalar(
            select(Student.identifier).where(Student.id_program == program).limit(1)
        )
    engine.dispose()
    return {
        "manager_email": emails[manager],
        "coordinator_email": emails[coordinator],
        "program": program,
        "program_size": program_size,
        "prefix": (prefix or "MUSD-1")[:8],
        "tree_student": tree_student,
        "typical_student": typical,
        "goal": goal,
    }


def build_scenarios(
    base: str, call: Call, database_url: str, env: dict[str, str]
) -> tuple[list[Scenario], Callable[..., dict[str, Any]]]:
    from goalpath.config import Settings

    password = Settings().demo_password
    picked = _pick(database_url)

    def token(email: str) -> str:
        return str(
            call(base, "POST", "/api/v1/auth/login", body={"email": email, "password": password})[
                "token"
            ]
        )

    manager = token(picked["manager_email"])
    coordinator = token(picked["coordinator_email"])
    events = f"/api/v1/students/{picked['typical_student']}/progress-events?limit=50"
    cursor = None
    pages = 0
    while pages < 100:
        page = call(base, "GET", events + (f"&cursor={cursor}" if cursor else ""), manager)
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
        pages += 1
    scenarios = [
        Scenario("1 my students (case manager, 50)", "GET", "/api/v1/students?limit=50", manager),
        Scenario(
            "2 program list by identifier prefix (coordinator)",
            "GET",
            f"/api/v1/students?id_program={picked['program']}&identifier_prefix={picked['prefix']}&limit=50",
            coordinator,
        ),
        Scenario(
            "3a goal tree (9 goals)",
            "GET",
            f"/api/v1/students/{picked['typical_student']}/goals?tree=true",
            manager,
        ),
        Scenario(
            "3b goal tree (200 goals, 4 levels)",
            "GET",
            f"/api/v1/students/{picked['tree_student']}/goals?tree=true",
            manager,
        ),
        Scenario("4a progress events, first page", "GET", events, manager),
        Scenario(
            f"4b progress events, page {pages + 1}",
            "GET",
            events + (f"&cursor={cursor}" if cursor else ""),
            manager,
        ),
        Scenario(
            "5 log a progress event (write)",
            "POST",
            f"/api/v1/students/{picked['typical_student']}/progress-events",
            manager,
            body={"content": "Practised the objective; 4 of 5 correct.", "id_goal": picked["goal"]},
            read=False,
        ),
        Scenario(
            "6 sign in (argon2id)",
            "POST",
            "/api/v1/auth/login",
            None,
            body={"email": picked["manager_email"], "password": password},
            read=False,
        ),
    ]

    def extras(
        base: str, pid: int, seconds: float, run_wrk: Callable[..., dict[str, Any]]
    ) -> dict[str, Any]:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            outcome = call(
                base,
                "POST",
                "/api/v1/progress-reports/generate",
                coordinator,
                {"id_program": picked["program"], "period": "Q1", "year": 2025},
            )
            timings.append(time.perf_counter() - started)
        result: dict[str, Any] = {
            "7 report generation, one program and period": (
                f"{picked['program_size']} students, median {statistics.median(timings) * 1000:.0f} ms, "
                f"max {max(timings) * 1000:.0f} ms over 5 runs ({outcome.get('created', 0) + outcome.get('updated', 0)} reports)"
            ),
        }
        # Reads while sign-ins hammer the server: hashing is bounded to the core count.
        sign_in = scenarios[-1]
        loaded: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: loaded.update(run_wrk(base, sign_in, 8, seconds)))
        thread.start()
        time.sleep(0.5)
        under_load = run_wrk(base, scenarios[0], 1, max(1.0, seconds - 1))
        thread.join()
        result["my students at c1 while sign-ins run at c8"] = (
            f"p50 {under_load['p50_ms']} ms, p95 {under_load['p95_ms']} ms, p99 {under_load['p99_ms']} ms "
            f"(sign-ins meanwhile: {loaded.get('rps')} rps)"
        )
        return result

    return scenarios, extras
