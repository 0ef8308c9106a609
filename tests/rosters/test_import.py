"""The OneRoster import (SPEC section 15) on this backend's test database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, Text, func, select
from typer.testing import CliRunner

from goalpath import cli
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.models import (
    Base,
    Program,
    RosterSource,
    SchoolDistrict,
    Student,
    User,
    UserProgram,
    UserSession,
    UserStudent,
)
from goalpath.rosters.reader import RosterRefused
from goalpath.rosters.service import ImportOptions, ImportSummary, import_roster
from goalpath.students.schemas import Student as StudentOutput
from tests.fixtures.oneroster import write_csv, write_set, zipped

runner = CliRunner()
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
# Names in the fixture that must never reach the database.
STUDENT_NAMES = ("Zebulon", "Quixotewright", "Marigold", "Featherstonehaugh", "Ottoline")

USERS_11 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]

MANIFEST_11 = [
    ["propertyName", "value"],
    ["manifest.version", "1.0"],
    ["oneroster.version", "1.1"],
    ["file.academicSessions", "bulk"],
    ["file.categories", "absent"],
    ["file.classes", "bulk"],
    ["file.courses", "absent"],
    ["file.demographics", "bulk"],
    ["file.enrollments", "bulk"],
    ["file.orgs", "bulk"],
    ["file.users", "bulk"],
    ["source.systemName", "Test SIS"],
]
ORGS = [
    ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    ["d1", "", "", "Riverbend USD", "district", "", ""],
    ["s1", "", "", "North, Elementary", "school", "N1", "d1"],
    ["s2", "", "", "South\nHigh", "school", "S2", "d1"],
]
SESSIONS = [
    [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ],
    ["y1", "", "", "2026-27", "schoolYear", "2026-08-20", "2027-06-10", "", "2027"],
    ["t1", "", "", "Fall", "term", "2026-08-20", "2026-12-20", "y1", "2027"],
    ["g1", "", "", "Q1", "gradingPeriod", "2026-08-20", "2026-10-20", "t1", "2027"],
]
CLASSES = [
    [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
    ],
    ["c1", "", "", "Reading 3", "03", "co1", "R3", "scheduled", "", "s1", "t1", "", "", ""],
]
ENROLLMENTS = [
    [
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ],
    ["e1", "", "", "c1", "s1", "tch1", "teacher", "true", "", ""],
    ["e2", "", "", "c1", "s1", "stu1", "student", "false", "", ""],
]
DEMOGRAPHICS = [
    ["sourcedId", "status", "dateLastModified", "birthDate", "sex"],
    ["stu1", "", "", "2017-04-01", "female"],
]


def _user(sourced_id: str, role: str, **values: str) -> list[str]:
    row = dict.fromkeys(USERS_11, "")
    row.update(sourcedId=sourced_id, role=role, enabledUser="true")
    row.update(values)
    return [row[column] for column in USERS_11]


USERS = [
    USERS_11,
    _user(
        "stu1",
        "student",
        orgSourcedIds="s1",
        username="zq1",
        identifier="S-1001",
        givenName="Zebulon",
        familyName="Quixotewright",
        grades="03",
    ),
    _user(
        "stu2",
        "student",
        orgSourcedIds="s2",
        username="stu2user",
        givenName="Marigold",
        familyName="Featherstonehaugh",
        middleName="Ottoline",
        grades="KG",
    ),
    _user(
        "tch1",
        "teacher",
        orgSourcedIds="s1,s2",
        username="tessa",
        email="Tessa.Teacher@Example.org",
        givenName="Tessa",
        familyName="Teacher",
    ),
    _user(
        "aid1",
        "aide",
        orgSourcedIds="s1",
        username="alex",
        email="alex.aide@example.org",
        givenName="Alex",
        familyName="Aide",
    ),
    _user("par1", "parent", orgSourcedIds="s1", username="pat", givenName="Pat"),
]


def bulk_files() -> dict[str, list[list[str]]]:
    return {
        "manifest": MANIFEST_11,
        "orgs": ORGS,
        "academicSessions": SESSIONS,
        "classes": CLASSES,
        "users": USERS,
        "enrollments": ENROLLMENTS,
        "demographics": DEMOGRAPHICS,
    }


def delta_manifest(*files: str) -> list[list[str]]:
    rows = [["propertyName", "value"], ["manifest.version", "1.0"], ["oneroster.version", "1.1"]]
    return rows + [[f"file.{name}", "delta"] for name in files]


def run(
    database: Database, path: Path, id_district: int, *, now: datetime = NOW, **options: Any
) -> ImportSummary:
    with database.session_scope(writes=True) as session:
        return import_roster(
            session, path, ImportOptions(id_school_district=id_district, **options), now=now
        )


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit trail, which a dry run may add to."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_event":
                continue
            order = list(table.primary_key.columns)
            tables[table.name] = [
                tuple(row) for row in connection.execute(select(table).order_by(*order))
            ]
    return tables


def test_bulk_import_creates_programs_staff_students_and_memberships(
    database: Database, district: int, tmp_path: Path
) -> None:
    summary = run(database, write_set(tmp_path / "set", bulk_files()), district)

    assert summary.errors == []
    assert summary.as_dict()["created"] == {
        "programs": 2,
        "staff": 2,
        "students": 2,
        "assignments": 3,
        "periods": 2,
    }
    assert any("demographics.csv" in note for note in summary.notes)
    with database.session_scope() as session:
        programs = dict(
            session.execute(
                select(Program.name, Program.id_program).where(
                    Program.id_school_district == district
                )
            ).all()
        )
        assert set(programs) == {"North, Elementary", "South\nHigh"}
        students = {s.identifier: s for s in session.scalars(select(Student))}
        assert set(students) == {"S-1001", "stu2user"}
        assert students["S-1001"].program_year == 3
        assert students["S-1001"].id_program == programs["North, Elementary"]
        assert students["stu2user"].program_year is None
        assert students["stu2user"].withdrawn_on is None
        staff = {u.email: u for u in session.scalars(select(User))}
        assert set(staff) == {"tessa.teacher@example.org", "alex.aide@example.org"}
        teacher = staff["tessa.teacher@example.org"]
        assert teacher.name == "Tessa Teacher"
        assert teacher.id_school_district_home == district
        assert teacher.id_role is None
        memberships = set(session.execute(select(UserProgram.id_user, UserProgram.id_program)))
        assert memberships == {
            (teacher.id_user, programs["North, Elementary"]),
            (teacher.id_user, programs["South\nHigh"]),
            (staff["alex.aide@example.org"].id_user, programs["North, Elementary"]),
        }
        assert session.scalar(select(func.count()).select_from(UserStudent)) == 0


def test_second_import_changes_nothing(database: Database, district: int, tmp_path: Path) -> None:
    folder = write_set(tmp_path / "set", bulk_files())
    run(database, folder, district, caseloads_from_classes=True)
    before = snapshot(database)

    summary = run(database, folder, district, caseloads_from_classes=True, now=NOW + timedelta(1))

    outcome = summary.as_dict()
    assert outcome["created"] == dict.fromkeys(outcome["created"], 0)  # type: ignore[arg-type]
    assert outcome["updated"] == dict.fromkeys(outcome["updated"], 0)  # type: ignore[arg-type]
    assert outcome["deactivated"] == dict.fromkeys(outcome["deactivated"], 0)  # type: ignore[arg-type]
    assert summary.unchanged == 8  # 2 programs, 2 staff, 2 students, 2 periods
    assert snapshot(database) == before


def test_caseloads_from_classes_give_read_links(
    database: Database, district: int, tmp_path: Path
) -> None:
    summary = run(
        database, write_set(tmp_path / "set", bulk_files()), district, caseloads_from_classes=True
    )
    assert summary.created["assignments"] == 4
    with database.session_scope() as session:
        link = session.scalars(select(UserStudent)).one()
        assert link.access_level == "read"
        teacher = session.scalars(select(User).where(User.email.like("tessa%"))).one()
        student = session.scalars(select(Student).where(Student.identifier == "S-1001")).one()
        assert (link.id_user, link.id_student) == (teacher.id_user, student.id_student)


def test_delta_deactivates_staff_and_withdraws_students(
    database: Database, district: int, tmp_path: Path
) -> None:
    run(database, write_set(tmp_path / "bulk", bulk_files()), district)
    with database.session_scope() as session:
        teacher = session.scalars(select(User).where(User.email.like("tessa%"))).one()
        session.add(
            UserSession(
                id_user=teacher.id_user,
                token_hash="0" * 64,
                expires_at=NOW + timedelta(hours=8),
            )
        )
    counts_before = {name: len(rows) for name, rows in snapshot(database).items()}
    delta = {
        "manifest": delta_manifest("users", "enrollments"),
        "users": [
            USERS_11,
            _user(
                "tch1",
                "teacher",
                enabledUser="false",
                orgSourcedIds="s1",
                username="tessa",
                email="tessa.teacher@example.org",
            ),
            ["stu1", "tobedeleted", "2026-12-01", *[""] * (len(USERS_11) - 3)],
        ],
        # Refers to a class and a school defined only by the earlier import.
        "enrollments": [ENROLLMENTS[0], ["e3", "", "", "c1", "s1", "stu2", "student", "", "", ""]],
    }

    summary = run(database, write_set(tmp_path / "delta", delta), district)

    assert summary.errors == []
    assert summary.deactivated["staff"] == 1
    assert summary.deactivated["students"] == 1
    with database.session_scope() as session:
        teacher = session.scalars(select(User).where(User.email.like("tessa%"))).one()
        assert teacher.deactivated_at == NOW
        revoked = session.scalars(select(UserSession.revoked_at)).one()
        assert revoked == NOW
        student = session.scalars(select(Student).where(Student.identifier == "S-1001")).one()
        assert student.withdrawn_on == NOW.date()
        assert StudentOutput.model_validate(student).model_dump()["withdrawn_on"] == NOW.date()
        other = session.scalars(select(Student).where(Student.identifier == "stu2user")).one()
        assert StudentOutput.model_validate(other).model_dump(mode="json")["withdrawn_on"] is None
    # Nothing deleted: every table keeps its rows; the delta's new enrollment is kept.
    counts_after = {name: len(rows) for name, rows in snapshot(database).items()}
    assert counts_after == counts_before | {"roster_enrollment": 3}


def test_dry_run_reports_and_changes_nothing(
    cli_env: None, database: Database, district: int, tmp_path: Path
) -> None:
    folder = write_set(tmp_path / "set", bulk_files())
    before = snapshot(database)

    result = runner.invoke(
        cli.app,
        ["roster", "import", str(folder), "--district", str(district), "--dry-run", "--json"],
    )

    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["created"]["students"] == 2
    assert outcome["created"]["staff"] == 2
    assert outcome["errors"] == []
    assert "demographics.csv" in result.stderr
    assert snapshot(database) == before


def test_cli_imports_a_zip(
    cli_env: None, database: Database, district: int, tmp_path: Path
) -> None:
    archive = tmp_path / "roster.zip"
    archive.write_bytes(zipped(bulk_files()))

    result = runner.invoke(
        cli.app, ["roster", "import", str(archive), "--district", str(district), "--json"]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"]["programs"] == 2
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Student)) == 2


def _break_header(files: dict[str, list[list[str]]]) -> None:
    files["users"] = [["SourcedId", *USERS_11[1:]], *USERS[1:]]


def _undefined_reference(files: dict[str, list[list[str]]]) -> None:
    files["enrollments"] = [*ENROLLMENTS, ["e9", "", "", "c9", "s1", "stu1", "student", "", "", ""]]


def _duplicate(files: dict[str, list[list[str]]]) -> None:
    files["users"] = [*USERS, USERS[1]]


def _wrong_field_count(files: dict[str, list[list[str]]]) -> None:
    files["orgs"] = [*ORGS, ["s3", "", "", "West", "school", ""]]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_break_header, "users.csv, line 1: column 'SourcedId' is not a OneRoster column name"),
        (_undefined_reference, "enrollments.csv, line 4 (e9): classSourcedId 'c9' is not defined"),
        (_duplicate, "users.csv, line 7 (stu1): duplicate sourcedId"),
        (_wrong_field_count, "orgs.csv, line 6: has 6 fields where the header has 7"),
    ],
)
def test_structural_errors_refuse_the_whole_import(
    database: Database, district: int, tmp_path: Path, damage: Any, problem: str
) -> None:
    files = bulk_files()
    damage(files)
    folder = write_set(tmp_path / "set", files)
    before = snapshot(database)

    with pytest.raises(RosterRefused) as refused:
        run(database, folder, district)

    assert str(refused.value) == problem
    assert snapshot(database) == before


def test_missing_manifest_file_and_bad_encoding_are_refused(
    cli_env: None, database: Database, district: int, tmp_path: Path
) -> None:
    folder = write_set(tmp_path / "set", bulk_files())
    (folder / "classes.csv").unlink()
    before = snapshot(database)

    result = runner.invoke(cli.app, ["roster", "import", str(folder), "--district", str(district)])

    assert result.exit_code == 1
    assert "classes.csv: named in the manifest but missing" in result.stderr
    write_csv(folder / "classes.csv", CLASSES)
    (folder / "orgs.csv").write_bytes(
        (folder / "orgs.csv").read_bytes() + b"s9,,,Caf\xe9,school,,\r\n"
    )
    with pytest.raises(RosterRefused, match=r"orgs\.csv, line 6: not UTF-8"):
        run(database, folder, district)
    with pytest.raises(RosterRefused, match="no district"):
        run(database, write_set(tmp_path / "good", bulk_files()), district + 1000)
    assert snapshot(database) == before


def test_bad_rows_are_reported_by_physical_line_and_good_rows_import(
    database: Database, district: int, tmp_path: Path, settings: Settings
) -> None:
    with database.session_scope() as session:
        elsewhere = SchoolDistrict(name="Elsewhere")
        session.add(elsewhere)
        session.flush()
        session.add(
            User(email="taken@example.org", id_school_district_home=elsewhere.id_school_district)
        )
    files = bulk_files()
    files["users"] = [
        *USERS,
        # A quoted newline: the next rows start one physical line later than their index.
        _user("stu3", "student", orgSourcedIds="s1", username="", givenName="Two\nLines"),
        _user("stu4", "student", orgSourcedIds="s1", identifier="X" * 51),
        _user("tch2", "teacher", orgSourcedIds="s1", email="not-an-email"),
        _user("tch3", "teacher", orgSourcedIds="s1", email="Taken@example.org"),
    ]

    summary = run(database, write_set(tmp_path / "set", files), district)

    assert [error.as_dict() for error in summary.errors] == [
        {
            "file": "users.csv",
            "line": 7,
            "sourcedId": "stu3",
            "problem": "no identifier or username",
        },
        {
            "file": "users.csv",
            "line": 9,
            "sourcedId": "stu4",
            "problem": "identifier over 50 characters",
        },
        {"file": "users.csv", "line": 10, "sourcedId": "tch2", "problem": "invalid email"},
        {
            "file": "users.csv",
            "line": 11,
            "sourcedId": "tch3",
            "problem": "email already used by an account of another district",
        },
    ]
    assert summary.created["students"] == 2
    assert summary.created["staff"] == 2


def test_bom_quoted_commas_and_newlines_read_correctly(
    database: Database, district: int, tmp_path: Path
) -> None:
    files = bulk_files()
    files["users"] = [*USERS, _user("stu5", "student", orgSourcedIds="s2", identifier="")]
    # stu5 has neither identifier nor username: line 8, after the BOM and a header.
    folder = write_set(tmp_path / "set", files, bom=True)
    assert (folder / "users.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    summary = run(database, folder, district)

    assert [(e.line, e.sourced_id) for e in summary.errors] == [(7, "stu5")]
    with database.session_scope() as session:
        names = set(session.scalars(select(Program.name)))
    assert names == {"North, Elementary", "South\nHigh"}


def test_no_student_name_reaches_the_database(
    database: Database, district: int, tmp_path: Path
) -> None:
    run(database, write_set(tmp_path / "set", bulk_files()), district, caseloads_from_classes=True)

    found = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text):
                    continue
                for name in STUDENT_NAMES:
                    hits = connection.execute(
                        select(func.count()).select_from(table).where(column.like(f"%{name}%"))
                    ).scalar_one()
                    if hits:
                        found.append((table.name, column.name, name))
    assert found == []


def test_oneroster_12_roles_file_decides_role_and_school(
    database: Database, district: int, tmp_path: Path
) -> None:
    users_12 = [
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "userMasterIdentifier",
        "resourceSourcedIds",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
    ]
    blank = [""] * len(users_12)

    def user(**values: str) -> list[str]:
        row = dict(zip(users_12, blank, strict=True))
        row.update(enabledUser="true", **values)
        return [row[column] for column in users_12]

    files = {
        "manifest": [
            ["propertyName", "value"],
            ["manifest.version", "1.0"],
            ["oneroster.version", "1.2"],
            ["file.orgs", "bulk"],
            ["file.users", "bulk"],
            ["file.roles", "bulk"],
        ],
        "orgs": ORGS,
        "users": [
            users_12,
            user(
                sourcedId="u1", username="kid1", identifier="K-1", grades="11", givenName="Zebulon"
            ),
            user(sourcedId="u2", username="teach", email="t2@example.org", givenName="Terry"),
        ],
        "roles": [
            [
                "sourcedId",
                "status",
                "dateLastModified",
                "userSourcedId",
                "roleType",
                "role",
                "beginDate",
                "endDate",
                "orgSourcedId",
                "userProfileSourcedId",
            ],
            ["r1", "", "", "u1", "primary", "student", "", "", "s2", ""],
            ["r2", "", "", "u2", "primary", "teacher", "", "", "s1", ""],
            ["r3", "", "", "u2", "secondary", "teacher", "", "", "s2", ""],
        ],
    }

    summary = run(database, write_set(tmp_path / "set", files), district)

    assert summary.errors == []
    assert summary.created["students"] == 1
    assert summary.created["assignments"] == 2
    with database.session_scope() as session:
        student = session.scalars(select(Student)).one()
        assert student.program_year == 11
        south = session.scalars(select(Program).where(Program.name == "South\nHigh")).one()
        assert student.id_program == south.id_program
        mapped = session.scalar(
            select(func.count()).select_from(RosterSource).where(RosterSource.kind == "staff")
        )
        assert mapped == 1
