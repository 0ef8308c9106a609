"""`make bench-roster`: a district's OneRoster 1.1 CSV set imported, timed, with the peak
memory of the import process.

At scale 1 the set holds 100,000 students, 8,000 staff (7,000 teachers, 800 aides, 200
administrators), 200 schools, 19,000 classes and 500,000 enrollments (475,000 of
students, 25,000 of teachers and aides), plus the district, one school year with two
terms and four grading periods, and the manifest. It is written to a temporary folder,
then `goalpath roster import --caseloads-from-classes --json` runs as a child process
twice: the first import, then the same files again (everything unchanged). Each run's
wall time and peak RSS (`os.wait4`'s rusage of that child) are reported.

SQLite in the temporary folder by default; the database of `DATABASE_URL` when it is set
(it must exist and be empty of roster data: the schema is migrated, a district added).
`--scale 0.01` (`make bench-roster SCALE=0.01`) runs the same in seconds for CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from tests.fixtures.oneroster import write_csv

from goalpath.rosters.reader import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

STUDENTS = 100_000
TEACHERS = 7_000
AIDES = 800
ADMINISTRATORS = 200
SCHOOLS = 200
CLASSES = 19_000
STUDENT_ENROLLMENTS = 475_000
AIDE_ENROLLMENTS = 6_000

USERS_COLUMNS = list(COLUMNS["1.1"]["users"])
GIVEN = ["Ada", "Bo", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu"]
FAMILY = ["Ames", "Bell", "Cruz", "Diaz", "Egan", "Fox", "Gray", "Hale", "Ives", "Jain"]


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def _write(path: Path, header: list[str], rows: Iterator[list[str]]) -> int:
    """Streams the file, as the tests' sets are written; returns its rows but the header."""
    return write_csv(path, chain([header], rows)) - 1


def generate(folder: Path, scale: float, seed: int = 14) -> dict[str, int]:
    """Writes the set; returns the rows per file. Deterministic for a seed and scale."""
    rng = random.Random(seed)
    schools = scaled(SCHOOLS, scale)
    students = scaled(STUDENTS, scale)
    teachers = scaled(TEACHERS, scale)
    aides = scaled(AIDES, scale)
    administrators = scaled(ADMINISTRATORS, scale)
    classes = max(schools, scaled(CLASSES, scale))
    student_enrollments = scaled(STUDENT_ENROLLMENTS, scale)
    aide_enrollments = min(classes, scaled(AIDE_ENROLLMENTS, scale))
    stamp = "2027-08-01T00:00:00.000Z"
    counts: dict[str, int] = {}

    def school_of(index: int, total: int) -> int:
        return index * schools // total

    counts["orgs"] = _write(
        folder / "orgs.csv",
        list(COLUMNS["1.1"]["orgs"]),
        iter(
            [
                [
                    "district-1",
                    "active",
                    stamp,
                    "Bench Unified School District",
                    "district",
                    "BUSD",
                    "",
                ],
                *(
                    [
                        f"school-{n}",
                        "active",
                        stamp,
                        f"School {n}, Bench",
                        "school",
                        f"S{n}",
                        "district-1",
                    ]
                    for n in range(schools)
                ),
            ]
        ),
    )
    sessions = [
        ["year-2028", "schoolYear", "2027-08-20", "2028-06-10", "", "2028-27"],
        ["term-1", "term", "2027-08-20", "2028-01-15", "year-2028", "Fall"],
        ["term-2", "term", "2028-01-16", "2028-06-10", "year-2028", "Spring"],
        ["gp-1", "gradingPeriod", "2027-08-20", "2027-10-31", "term-1", "Quarter 1"],
        ["gp-2", "gradingPeriod", "2027-11-01", "2028-01-15", "term-1", "Quarter 2"],
        ["gp-3", "gradingPeriod", "2028-01-16", "2028-03-31", "term-2", "Quarter 3"],
        ["gp-4", "gradingPeriod", "2028-04-01", "2028-06-10", "term-2", "Quarter 4"],
    ]
    counts["academicSessions"] = _write(
        folder / "academicSessions.csv",
        list(COLUMNS["1.1"]["academicSessions"]),
        (
            [
                sid,
                "active",
                stamp,
                title if kind != "schoolYear" else "2027-28",
                kind,
                start,
                end,
                parent,
                "2028",
            ]
            for sid, kind, start, end, parent, title in sessions
        ),
    )
    counts["classes"] = _write(
        folder / "classes.csv",
        list(COLUMNS["1.1"]["classes"]),
        (
            [
                f"class-{n}",
                "active",
                stamp,
                f"Class {n}",
                f"{n % 12 + 1:02d}",
                f"course-{n % 400}",
                f"C{n}",
                "scheduled",
                f"Room {n % 60}",
                f"school-{school_of(n, classes)}",
                "term-1,term-2",
                "",
                "",
                str(n % 7 + 1),
            ]
            for n in range(classes)
        ),
    )

    def users() -> Iterator[list[str]]:
        def row(sid: str, role: str, school: int, **values: str) -> list[str]:
            record = dict.fromkeys(USERS_COLUMNS, "")
            record.update(
                sourcedId=sid,
                status="active",
                dateLastModified=stamp,
                enabledUser="true",
                orgSourcedIds=f"school-{school}",
                role=role,
                givenName=rng.choice(GIVEN),
                familyName=rng.choice(FAMILY),
            )
            record.update(values)
            return [record[column] for column in USERS_COLUMNS]

        for n in range(students):
            grade = "KG" if n % 13 == 0 else f"{n % 12 + 1:02d}"
            yield row(
                f"student-{n}",
                "student",
                school_of(n, students),
                username=f"stu{n}",
                identifier=f"{100000 + n}",
                grades=grade,
                middleName=rng.choice(GIVEN),
            )
        staff = [("teacher", teachers), ("aide", aides), ("administrator", administrators)]
        for role, count in staff:
            for n in range(count):
                school = school_of(n, count)
                orgs = (
                    f"school-{school}"
                    if n % 10
                    else f"school-{school},school-{(school + 1) % schools}"
                )
                yield row(
                    f"{role}-{n}",
                    role,
                    school,
                    orgSourcedIds=orgs,
                    username=f"{role}{n}",
                    email=f"{role}.{n}@bench.example.org",
                )

    counts["users"] = _write(folder / "users.csv", USERS_COLUMNS, users())

    def enrollments() -> Iterator[list[str]]:
        # Classes of a school go to its students and teachers, so caseloads stay local.
        per_school_classes = [[] for _ in range(schools)]  # type: list[list[int]]
        for n in range(classes):
            per_school_classes[school_of(n, classes)].append(n)
        per_school_teachers = [[] for _ in range(schools)]  # type: list[list[int]]
        for n in range(teachers):
            per_school_teachers[school_of(n, teachers)].append(n)
        number = 0
        for n in range(classes):
            school = school_of(n, classes)
            members = per_school_teachers[school] or [0]
            teacher = members[n % len(members)]
            yield [
                f"enr-{number}",
                "active",
                stamp,
                f"class-{n}",
                f"school-{school}",
                f"teacher-{teacher}",
                "teacher",
                "true",
                "",
                "",
            ]
            number += 1
        for n in range(aide_enrollments):
            yield [
                f"enr-{number}",
                "active",
                stamp,
                f"class-{n}",
                f"school-{school_of(n, classes)}",
                f"aide-{n % aides}",
                "aide",
                "false",
                "",
                "",
            ]
            number += 1
        for n in range(student_enrollments):
            student = n % students
            school = school_of(student, students)
            options = per_school_classes[school] or [0]
            # Each student's classes are distinct: consecutive classes of the school.
            cls = options[(student // schools + n // students) % len(options)]
            yield [
                f"enr-{number}",
                "active",
                stamp,
                f"class-{cls}",
                f"school-{school}",
                f"student-{student}",
                "student",
                "false",
                "",
                "",
            ]
            number += 1

    counts["enrollments"] = _write(
        folder / "enrollments.csv",
        list(COLUMNS["1.1"]["enrollments"]),
        enrollments(),
    )
    manifest = [
        ["manifest.version", "1.0"],
        ["oneroster.version", "1.1"],
        *(
            ["file." + name, "bulk"]
            for name in ("academicSessions", "classes", "enrollments", "orgs", "users")
        ),
        *(
            ["file." + name, "absent"]
            for name in (
                "categories",
                "classResources",
                "courses",
                "courseResources",
                "demographics",
                "lineItems",
                "resources",
                "results",
            )
        ),
        ["source.systemName", "Goalpath bench"],
    ]
    _write(folder / "manifest.csv", ["propertyName", "value"], iter(manifest))
    return counts


def prepare_database(database_url: str) -> int:
    """Migrates the database and adds the district the set is imported into."""
    from goalpath import migrations
    from goalpath.config import Settings
    from goalpath.db import Database
    from goalpath.models import SchoolDistrict

    database = Database(Settings(database_url=database_url))
    migrations.upgrade(database.engine)
    with database.session_scope() as session:
        district = SchoolDistrict(name=f"Bench district {datetime.now(UTC):%H%M%S}")
        session.add(district)
        session.flush()
        id_district = district.id_school_district
    database.dispose()
    return id_district


def timed_import(folder: Path, id_district: int, env: dict[str, str]) -> dict[str, Any]:
    """One import as a child process: wall seconds, its peak RSS, its JSON summary."""
    command = [
        sys.executable,
        "-m",
        "goalpath",
        "roster",
        "import",
        str(folder),
        "--district",
        str(id_district),
        "--caseloads-from-classes",
        "--json",
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"the import failed (exit {child.returncode})")
    summary = json.loads(output)
    # Linux reports ru_maxrss in KiB.
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--label", default=None)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="goalpath-roster-bench-") as temporary:
        folder = Path(temporary) / "set"
        folder.mkdir()
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{temporary}/roster.db"
        backend = database_url.split(":", 1)[0].split("+", 1)[0]
        started = time.perf_counter()
        counts = generate(folder, arguments.scale)
        generated = time.perf_counter() - started
        id_district = prepare_database(database_url)
        env = {**os.environ, "DATABASE_URL": database_url, "GOALPATH_LOG_LEVEL": "warning"}
        rows = sum(counts.values())
        print(f"generated {counts} in {generated:.1f} s; importing on {backend}", file=sys.stderr)
        first = timed_import(folder, id_district, env)
        again = timed_import(folder, id_district, env)
    result = {
        "label": arguments.label or f"roster-{backend}-scale-{arguments.scale:g}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": backend,
        "scale": arguments.scale,
        "rows": counts,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "runs": {
            "first import": {**first, "rows_per_second": round(rows / first["seconds"])},
            "same files again": {**again, "rows_per_second": round(rows / again["seconds"])},
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{result['label']}.json").write_text(json.dumps(result, indent=2) + "\n")
    print("| run | rows | seconds | rows/s | peak RSS MB | created | unchanged |")
    print("|---|---|---|---|---|---|---|")
    for name, run in result["runs"].items():
        created = run["summary"]["created"]
        print(
            f"| {name} | {rows} | {run['seconds']} | {run['rows_per_second']} | {run['peak_rss_mb']} "
            f"| {', '.join(f'{n} {k}' for k, n in created.items())} | {run['summary']['unchanged']} |"
        )


if __name__ == "__main__":
    main()
