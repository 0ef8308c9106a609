"""The administration pages without a browser: who may open which page, what each form
does (and refuses), the escalation guard's message, audit rows, CSRF, and statement
counts that do not grow with the page size (SPEC sections 5, 6, 9 and 10)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import (
    PasswordResetToken,
    Permission,
    Program,
    Role,
    RolePermission,
    SchoolDistrict,
    Student,
    User,
    UserProgram,
    UserStudent,
)
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user
from tests.fixtures.statements import count_statements
from tests.users.helpers import audit_rows, last_audit_id, role_id, second_district
from tests.web.conftest import with_pages

SYSTEM_ADMIN = "Dana Whitfield"
DISTRICT_ADMIN = "Marcus Oyelaran"
COORDINATOR = "Priya Raman"
CASE_MANAGER = "Elena Castillo"
SECOND_CASE_MANAGER = "Jordan Blake"
COUNSELOR = "Grace Okafor"
NURSE = "Hannah Brooks"
AUDITOR = "Victor Almeida"
GOOD_PASSWORD = "copper-meadow-violin-5520"
ESCALATION = "You can only grant a role whose every right you hold"
HUGE = "x" * 20_000


def with_admin_pages(app: FastAPI) -> FastAPI:
    """The app with its pages (create_app includes every page router)."""
    return with_pages(app)


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(with_admin_pages(app), raise_server_exceptions=False) as client:
        yield client


def sign_in(client: TestClient, email: str, password: str) -> None:
    client.cookies.clear()
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "next": "/",
            "csrftoken": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def sign_in_demo(client: TestClient, settings: Settings, name: str) -> None:
    sign_in(client, demo_email(name), settings.demo_password)


def post(client: TestClient, path: str, data: dict[str, str] | None = None) -> httpx2.Response:
    """A page's form post: with the CSRF token the page embeds, as a browser sends it."""
    return client.post(
        path,
        data={**(data or {}), "csrftoken": client.cookies["csrftoken"]},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )


def flash_after(client: TestClient, response: httpx2.Response) -> str:
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def table_body(page: str) -> str:
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def count(database: Database, model: type, *where: object) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def first_program(database: Database) -> int:
    with database.session_scope() as session:
        found = session.scalar(select(Program.id_program).order_by(Program.id_program))
    assert found is not None
    return found


def program_students(database: Database, id_program: int) -> list[tuple[int, str]]:
    with database.session_scope() as session:
        rows = session.execute(
            select(Student.id_student, Student.identifier)
            .where(Student.id_program == id_program)
            .order_by(Student.id_student)
        ).all()
    return [(id_student, identifier or "") for id_student, identifier in rows]


def demo_district_id(database: Database) -> int:
    with database.session_scope() as session:
        found = session.scalar(
            select(SchoolDistrict.id_school_district).order_by(SchoolDistrict.id_school_district)
        )
    assert found is not None
    return found


# -- who may open which page --------------------------------------------------------

PAGES = (
    "/admin",
    "/admin/districts",
    "/admin/programs",
    "/admin/programs/{program}",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{case_manager}",
    "/admin/roles",
    "/admin/roles/{case_manager_role}",
    "/admin/assignments",
    "/audit-events",
)
ALL = set(PAGES)
EXPECTED_200 = {
    SYSTEM_ADMIN: ALL,
    DISTRICT_ADMIN: ALL,
    COORDINATOR: {
        "/admin",
        "/admin/districts",
        "/admin/programs",
        "/admin/programs/{program}",
        "/admin/roles",
        "/admin/roles/{case_manager_role}",
        "/admin/assignments",
    },
    CASE_MANAGER: set(),
    COUNSELOR: set(),
    NURSE: set(),
    AUDITOR: ALL - {"/admin/users/new", "/admin/assignments"},
}


@pytest.mark.parametrize("name", list(EXPECTED_200))
def test_each_page_opens_for_the_roles_it_serves_and_is_403_otherwise(
    pages: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    name: str,
) -> None:
    values = {
        "program": first_program(database),
        "case_manager": staff.first("case_manager"),
        "case_manager_role": role_id(database, "case_manager"),
    }
    sign_in_demo(pages, settings, name)
    before = last_audit_id(database)
    statuses = {}
    for template in PAGES:
        response = pages.get(template.format(**values), follow_redirects=False)
        assert response.headers["content-type"].startswith("text/html"), template
        statuses[template] = response.status_code
    assert {path for path, status in statuses.items() if status == 200} == EXPECTED_200[name]
    refused = {path for path, status in statuses.items() if status != 200}
    assert all(statuses[path] == 403 for path in refused), statuses
    # Each refusal is on the audit trail.
    denied = audit_rows(
        database, after=before, outcome="denied", id_user=staff.by_email[demo_email(name)]
    )
    assert len(denied) == len(refused)


def test_signed_out_browsers_are_sent_to_sign_in(pages: TestClient) -> None:
    for path in ("/admin/users", "/audit-events", "/students/1/family-report.pdf"):
        response = pages.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")


def test_records_of_another_district_are_404(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    other = second_district(database, settings)
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    for path in (
        f"/admin/programs/{other.id_program}",
        f"/admin/users/{other.case_manager}",
        f"/admin/districts/{other.id_school_district}",
        "/admin/users/abc",
        "/admin/users/99999999999",
        "/admin/programs/0",
        "/admin/roles/-1",
    ):
        response = pages.get(path)
        assert response.status_code == 404, path
        assert "you do not have access to it" in response.text
    # Nor can a form reach them.
    response = post(pages, f"/admin/users/{other.case_manager}/deactivate")
    assert response.status_code == 404
    with database.session_scope() as session:
        target = session.get(User, other.case_manager)
        assert target is not None and target.deactivated_at is None


# -- staff accounts -----------------------------------------------------------------


def test_a_district_admin_cannot_create_a_counselor(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    # The form offers only the roles a district administrator may give.
    form = pages.get("/admin/users/new").text
    offered = re.findall(r'<option value="(\d+)"', form)
    assert str(role_id(database, "case_manager")) in offered
    assert str(role_id(database, "counselor")) not in offered
    before = last_audit_id(database)
    # Posted anyway, it is refused in words.
    response = post(
        pages,
        "/admin/users",
        {
            "name": "Rosa Delgado",
            "email": "rosa.delgado@riverbend-usd.example",
            "id_role": str(role_id(database, "counselor")),
            "setup": "password",
            "password": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 403
    assert ESCALATION in response.text
    assert "read health notes of the students assigned to them" in response.text
    assert "health_note:read:assigned" not in response.text
    # The form comes back as typed, without the password.
    assert 'value="rosa.delgado@riverbend-usd.example"' in response.text
    assert GOOD_PASSWORD not in response.text
    assert count(database, User, User.email == "rosa.delgado@riverbend-usd.example") == 0
    (denied,) = audit_rows(database, after=before, outcome="denied")
    assert denied["action"] == "grant_role"
    assert denied["details"]["reason"] == "escalation"


def test_a_district_admin_creates_a_case_manager_with_a_password(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    form = pages.get("/admin/users/new").text
    assert "Case manager" in form
    before = last_audit_id(database)
    response = post(
        pages,
        "/admin/users",
        {
            "name": "Rosa Delgado",
            "email": "Rosa.Delgado@Riverbend-USD.example",
            "id_role": str(role_id(database, "case_manager")),
            "setup": "password",
            "password": GOOD_PASSWORD,
        },
    )
    page = flash_after(pages, response)
    assert "The account for Rosa Delgado has been created." in page
    with database.session_scope() as session:
        created = session.scalars(
            select(User).where(User.email == "rosa.delgado@riverbend-usd.example")
        ).one()
        assert created.id_role == role_id(database, "case_manager")
        assert created.password_updated_at is not None
        assert response.headers["location"] == f"/admin/users/{created.id_user}"
    (row,) = audit_rows(database, after=before, action="create", resource="user")
    assert row["details"]["fields"] == ["email", "id_role", "name", "password"]
    assert GOOD_PASSWORD not in str(row["details"])
    listed = table_body(pages.get("/admin/users", params={"email": "rosa."}).text)
    assert "Rosa Delgado" in listed
    assert "Marcus Oyelaran" not in listed


def test_an_invited_account_gets_a_link_instead_of_a_password(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    response = post(
        pages,
        "/admin/users",
        {
            "name": "Noah Fischer",
            "email": "noah.fischer@riverbend-usd.example",
            "id_role": str(role_id(database, "nurse")),
            "setup": "invite",
            "password": "",
        },
    )
    page = flash_after(pages, response)
    assert "An invitation to choose a password was emailed to noah.fischer@" in page
    with database.session_scope() as session:
        created = session.scalars(
            select(User).where(User.email == "noah.fischer@riverbend-usd.example")
        ).one()
        assert created.password_updated_at is None
        links = session.scalar(
            select(func.count())
            .select_from(PasswordResetToken)
            .where(PasswordResetToken.id_user == created.id_user)
        )
    assert links == 1


def test_changing_a_role_shows_the_guard_and_applies_an_allowed_one(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    elena = staff.first("case_manager")
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    refused = post(
        pages, f"/admin/users/{elena}/role", {"id_role": str(role_id(database, "nurse"))}
    )
    assert refused.status_code == 403
    assert ESCALATION in refused.text
    with database.session_scope() as session:
        assert session.get(User, elena).id_role == role_id(database, "case_manager")  # type: ignore[union-attr]
    coordinator = role_id(database, "program_coordinator")
    page = flash_after(
        pages, post(pages, f"/admin/users/{elena}/role", {"id_role": str(coordinator)})
    )
    assert "Elena Castillo&#39;s role has been changed." in page
    with database.session_scope() as session:
        assert session.get(User, elena).id_role == coordinator  # type: ignore[union-attr]
    own = post(
        pages, f"/admin/users/{staff.first('district_admin')}/role", {"id_role": str(coordinator)}
    )
    assert own.status_code == 403
    assert "Nobody can change their own role." in own.text


def test_deactivate_reactivate_unlock_and_end_sessions(
    pages: TestClient,
    client: TestClient,
    database: Database,
    settings: Settings,
    staff: demo.DemoStaff,
    clock: Clock,
) -> None:
    elena = staff.first("case_manager")
    login = client.post(
        "/api/v1/auth/login",
        json={"email": demo_email(CASE_MANAGER), "password": settings.demo_password},
    )
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    before = last_audit_id(database)

    page = flash_after(pages, post(pages, f"/admin/users/{elena}/end-sessions"))
    assert "1 session(s) ended." in page
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401

    page = flash_after(pages, post(pages, f"/admin/users/{elena}/deactivate"))
    assert "account is deactivated" in page
    assert "Reactivate account" in page
    page = flash_after(pages, post(pages, f"/admin/users/{elena}/reactivate"))
    assert "is active again" in page

    with database.session_scope() as session:
        session.execute(
            update(User)
            .where(User.id_user == elena)
            .values(failed_login_attempts=5, locked_until=clock.now + timedelta(minutes=15))
        )
    page = pages.get(f"/admin/users/{elena}").text
    assert "Locked" in page
    # The Locked filter lists the locked account, and no other.
    locked = pages.get("/admin/users", params={"status": "locked"})
    assert locked.status_code == 200
    listed = set(re.findall(r'href="/admin/users/(\d+)"', table_body(locked.text)))
    assert listed == {str(elena)}
    page = flash_after(pages, post(pages, f"/admin/users/{elena}/unlock"))
    assert "account is unlocked" in page
    after = pages.get("/admin/users", params={"status": "locked"}).text
    assert f'href="/admin/users/{elena}"' not in after
    with database.session_scope() as session:
        unlocked = session.get(User, elena)
        assert unlocked is not None
        assert unlocked.locked_until is None and unlocked.failed_login_attempts == 0
    actions = [row["action"] for row in audit_rows(database, after=before, record_id=str(elena))]
    assert actions == ["sessions.ended", "deactivate", "reactivate", "account.unlocked"]

    refused = post(pages, f"/admin/users/{staff.first('district_admin')}/deactivate")
    assert refused.status_code == 409
    assert "Nobody can deactivate their own account" in refused.text


# -- districts, programs and members --------------------------------------------------


def test_districts_are_created_by_a_system_admin_and_changed_by_a_district_admin(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    page = pages.get("/admin/districts").text
    assert "Riverbend Unified School District" in page
    assert "Add a district" not in page
    refused = post(pages, "/admin/districts", {"name": "Lakeside County", "contact_email": ""})
    assert refused.status_code == 403
    assert count(database, SchoolDistrict) == 1
    district = demo_district_id(database)
    page = flash_after(
        pages,
        post(
            pages,
            f"/admin/districts/{district}",
            {
                "name": "Riverbend Unified School District",
                "contact_email": "hello@riverbend-usd.example",
            },
        ),
    )
    assert "hello@riverbend-usd.example" in page

    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    page = flash_after(
        pages, post(pages, "/admin/districts", {"name": "Lakeside County", "contact_email": ""})
    )
    assert "The district Lakeside County has been created." in page
    assert count(database, SchoolDistrict) == 2


def test_programs_and_their_members(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    with database.session_scope() as session:
        riverbend = session.scalars(select(SchoolDistrict.id_school_district)).one()
    newcomer = make_user(
        database,
        settings,
        email="iris.chen@riverbend-usd.example",
        name="Iris Chen",
        id_school_district_home=riverbend,
    )
    sign_in_demo(pages, settings, DISTRICT_ADMIN)
    response = post(
        pages,
        "/admin/programs",
        {
            "id_school_district": str(demo_district_id(database)),
            "name": "Early Childhood",
            "description": "Preschool services.",
        },
    )
    page = flash_after(pages, response)
    assert "The program Early Childhood has been created." in page
    path = response.headers["location"]
    id_program = int(path.rsplit("/", 1)[1])

    page = flash_after(
        pages,
        post(
            pages,
            f"{path}/members",
            {"email": "IRIS.CHEN@riverbend-usd.example", "is_primary": "yes"},
        ),
    )
    assert "Iris Chen is now a member of the program." in page
    with database.session_scope() as session:
        membership = session.scalars(
            select(UserProgram).where(
                UserProgram.id_user == newcomer, UserProgram.id_program == id_program
            )
        ).one()
        assert membership.status == "active" and membership.is_primary is True
        id_user_program = membership.id_user_program

    duplicate = post(pages, f"{path}/members", {"email": "iris.chen@riverbend-usd.example"})
    assert duplicate.status_code == 409
    assert "already a member" in duplicate.text
    unknown = post(pages, f"{path}/members", {"email": "nobody@riverbend-usd.example"})
    assert unknown.status_code == 404
    assert "No staff account you can see has this email address." in unknown.text

    page = flash_after(
        pages, post(pages, f"{path}/members/{id_user_program}/status", {"status": "inactive"})
    )
    assert "membership is inactive" in page
    page = flash_after(
        pages, post(pages, f"{path}/members/{id_user_program}/status", {"status": "active"})
    )
    assert "membership is active" in page
    page = flash_after(pages, post(pages, f"{path}/members/{id_user_program}/remove"))
    assert "has been removed" in page
    assert count(database, UserProgram, UserProgram.id_program == id_program) == 0

    # A coordinator reads members but has no form and no right to change them.
    sign_in_demo(pages, settings, COORDINATOR)
    program = first_program(database)
    page = pages.get(f"/admin/programs/{program}").text
    assert "Priya Raman" in page
    assert "Add a member" not in page
    refused = post(
        pages, f"/admin/programs/{program}/members", {"email": "iris.chen@riverbend-usd.example"}
    )
    assert refused.status_code == 403


# -- roles ----------------------------------------------------------------------------


def test_role_permissions_are_added_and_removed_with_the_guard(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    nurse_role = role_id(database, "nurse")
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    page = pages.get(f"/admin/roles/{nurse_role}").text
    assert "health note" in page
    response = post(
        pages,
        f"/admin/roles/{nurse_role}/permissions",
        {"resource": "goal", "action": "read", "scope": "program"},
    )
    assert "Holders of the role can now read goals in their programs." in flash_after(
        pages, response
    )
    with database.session_scope() as session:
        id_permission = session.scalar(
            select(Permission.id_permission).where(
                Permission.resource == "goal",
                Permission.action == "read",
                Permission.scope == "program",
            )
        )
    linked = (RolePermission.id_role == nurse_role, RolePermission.id_permission == id_permission)
    assert count(database, RolePermission, *linked) == 1
    page = flash_after(
        pages, post(pages, f"/admin/roles/{nurse_role}/permissions/{id_permission}/remove")
    )
    assert "The permission has been removed from the role." in page
    assert count(database, RolePermission, *linked) == 0

    own = post(
        pages,
        f"/admin/roles/{role_id(database, 'system_admin')}/permissions",
        {"resource": "goal", "action": "read", "scope": "program"},
    )
    assert own.status_code == 403
    assert "never to your own role" in own.text


def test_a_role_editor_cannot_add_a_right_they_lack(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    with database.session_scope() as session:
        editor = Role(name="role_editor", description="Edits roles only.")
        session.add(editor)
        session.flush()
        for action in ("read", "update"):
            id_permission = session.scalar(
                select(Permission.id_permission).where(
                    Permission.resource == "role",
                    Permission.action == action,
                    Permission.scope == "global",
                )
            )
            session.add(RolePermission(id_role=editor.id_role, id_permission=id_permission))
    make_user(
        database,
        settings,
        email="rae.editor@riverbend-usd.example",
        name="Rae Editor",
        role="role_editor",
    )
    sign_in(pages, "rae.editor@riverbend-usd.example", DEFAULT_PASSWORD)
    case_manager = role_id(database, "case_manager")
    before = count(database, RolePermission, RolePermission.id_role == case_manager)
    refused = post(
        pages,
        f"/admin/roles/{case_manager}/permissions",
        {"resource": "health_note", "action": "read", "scope": "assigned"},
    )
    assert refused.status_code == 403
    refusal = "You can only add a right you hold yourself: you cannot read health notes"
    assert refusal in refused.text
    assert count(database, RolePermission, RolePermission.id_role == case_manager) == before


# -- caseloads ------------------------------------------------------------------------


def test_a_coordinator_assigns_a_caseload_all_or_nothing(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    program = first_program(database)
    students = program_students(database, program)
    jordan = staff.by_email[demo_email(SECOND_CASE_MANAGER)]
    with database.session_scope() as session:
        assigned = set(
            session.scalars(select(UserStudent.id_student).where(UserStudent.id_user == jordan))
        )
    fresh = [(i, identifier) for i, identifier in students if i not in assigned][:3]
    held = [(i, identifier) for i, identifier in students if i in assigned][:1]
    assert len(fresh) == 3 and len(held) == 1
    sign_in_demo(pages, settings, COORDINATOR)
    links = count(database, UserStudent, UserStudent.id_user == jordan)

    # The program's members and students are lists to pick from.
    page = pages.get("/admin/assignments", params={"program": program})
    assert page.status_code == 200
    assert f'<option value="{jordan}">Jordan Blake' in page.text
    for id_student, _identifier in fresh:
        assert f'name="id_student" value="{id_student}"' in page.text

    def assign(**fields: object) -> httpx2.Response:
        return pages.post(
            "/admin/assignments",
            data={
                "id_program": str(program),
                "id_user": str(jordan),
                "access_level": "write",
                "csrftoken": pages.cookies["csrftoken"],
                **fields,
            },
            headers={"accept": "text/html"},
            follow_redirects=False,
        )

    refused = assign(id_student=[str(fresh[0][0])], identifiers="RUSD-000000")
    assert refused.status_code == 404
    assert "Not found in this program: RUSD-000000." in refused.text
    assert count(database, UserStudent, UserStudent.id_user == jordan) == links

    before = last_audit_id(database)
    # Two ticked, one pasted in small letters, one already assigned.
    response = assign(
        id_student=[str(fresh[0][0]), str(fresh[1][0]), str(held[0][0])],
        identifiers=fresh[2][1].lower(),
    )
    page_after = flash_after(pages, response)
    assert "Jordan Blake is now assigned to 3 more students; 1 already assigned" in page_after
    assert count(database, UserStudent, UserStudent.id_user == jordan) == links + 3
    rows = audit_rows(database, after=before, action="create", resource="student_access")
    assert len(rows) == 3 and all(row["details"]["bulk"] for row in rows)

    # The list says who is assigned, and unassigns.
    with database.session_scope() as session:
        link = session.scalar(
            select(UserStudent.id_user_student).where(
                UserStudent.id_user == jordan, UserStudent.id_student == fresh[0][0]
            )
        )
    assert f"/admin/assignments/{fresh[0][0]}/{link}/remove" in page_after
    removed = post(
        pages, f"/admin/assignments/{fresh[0][0]}/{link}/remove", {"id_program": str(program)}
    )
    assert "Jordan Blake is no longer assigned to this student." in flash_after(pages, removed)
    assert count(database, UserStudent, UserStudent.id_user == jordan) == links + 2
    (gone,) = audit_rows(database, after=before, action="delete", resource="student_access")
    assert gone["id_student"] == fresh[0][0]

    # Nothing ticked, no staff member: refused in words, nothing changes.
    empty = pages.post(
        "/admin/assignments",
        data={"id_program": str(program), "csrftoken": pages.cookies["csrftoken"]},
        headers={"accept": "text/html"},
    )
    assert empty.status_code == 422
    assert "Choose the staff member to assign." in empty.text
    assert "Tick the students to assign, or paste their identifiers." in empty.text

    # Students of a program the coordinator does not run are not found.
    other = first_program(database) + 1
    other_program = program_students(database, other)
    outside = pages.post(
        "/admin/assignments",
        data={
            "id_program": str(other),
            "id_user": str(jordan),
            "access_level": "write",
            "identifiers": other_program[0][1],
            "csrftoken": pages.cookies["csrftoken"],
        },
        headers={"accept": "text/html"},
    )
    assert outside.status_code == 404


# -- the audit trail ------------------------------------------------------------------


def test_the_audit_trail_filters_and_exports_what_the_api_does(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    program = first_program(database)
    (id_student, identifier), *_ = program_students(database, program)
    sign_in_demo(pages, settings, CASE_MANAGER)
    pages.get(f"/api/v1/students/{id_student}")
    sign_in_demo(pages, settings, AUDITOR)
    page = pages.get("/audit-events", params={"student": identifier})
    assert page.status_code == 200
    assert identifier in page.text
    rows = re.findall(r"<tr>\s*<th scope=\"row\">", page.text)
    assert rows, page.text
    by_user = pages.get("/audit-events", params={"user": demo_email(CASE_MANAGER)}).text
    assert "Elena Castillo" in by_user
    assert "Victor Almeida" not in table_body(by_user)

    before = last_audit_id(database)
    export = pages.get("/audit-events/export.csv", params={"student": identifier})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("id_audit_event,occurred_at,id_user,user_name,user_email")
    assert all(f",{id_student},{identifier}," in line for line in lines[1:])
    # Names and identifiers beside the ids: the case manager's read is named.
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert any(
        row["user_name"] == "Elena Castillo" and row["user_email"] == demo_email(CASE_MANAGER)
        for row in exported
    )
    assert {row["student_identifier"] for row in exported} == {identifier}
    (row,) = audit_rows(database, after=before, action="export", resource="audit_event")
    assert row["id_student"] == id_student

    # Actions and kinds of records are offered as choices.
    choices = pages.get("/audit-events").text
    assert '<select id="action" name="action"' in choices
    assert '<option value="login.failed">Sign-in failed</option>' in choices
    assert '<select id="resource" name="resource"' in choices
    assert '<option value="health_note">' in choices
    chosen = pages.get("/audit-events", params={"action": "export"}).text
    assert '<option value="export" selected>' in chosen

    refused = pages.get("/audit-events", params={"date_from": "2026-09-31"})
    assert refused.status_code == 422
    assert "Enter a date such as 2026-09-01." in refused.text
    backwards = pages.get(
        "/audit-events", params={"date_from": "2026-09-02", "date_to": "2026-09-01"}
    )
    assert backwards.status_code == 422


@pytest.mark.parametrize("path", ["/admin/users", "/audit-events", "/admin/programs"])
def test_list_pages_issue_as_many_statements_for_one_row_as_for_fifty(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff, path: str
) -> None:
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    pages.get("/admin/users")  # some audit rows to list
    counts = []
    for limit in ("1", "50"):
        with count_statements(database.engine) as log:
            assert pages.get(path, params={"limit": limit}).status_code == 200
        counts.append(log.count)
    assert counts[0] == counts[1]


def test_forms_need_their_csrf_token(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    forged = pages.post(
        "/admin/districts",
        data={"name": "Forged District", "csrftoken": "forged"},
        headers={"accept": "text/html"},
    )
    assert forged.status_code == 403
    assert count(database, SchoolDistrict) == 1


# -- bad input on every form ----------------------------------------------------------


def _form_cases(
    database: Database, staff: demo.DemoStaff
) -> list[tuple[str, str, dict[str, str], dict[str, list[str]]]]:
    """(method, path, valid values, field -> values that must each be refused)."""
    program = first_program(database)
    with database.session_scope() as session:
        membership = session.scalar(
            select(UserProgram.id_user_program).where(UserProgram.id_program == program)
        )
    identifier = program_students(database, program)[0][1]
    texts = ["", HUGE, "a\x00b"]
    ids = ["", "abc", "-1", "1.5", "99999999999", HUGE, "1\x00"]
    return [
        (
            "POST",
            "/admin/districts",
            {"name": "Lakeside County", "contact_email": "office@lakeside.example"},
            {"name": texts, "contact_email": [HUGE, "a\x00b@x.example", "not an email"]},
        ),
        (
            "POST",
            f"/admin/districts/{demo_district_id(database)}",
            {"name": "Riverbend", "contact_email": ""},
            {"name": texts, "contact_email": [HUGE, "a\x00b@x.example"]},
        ),
        (
            "POST",
            "/admin/programs",
            {
                "id_school_district": str(demo_district_id(database)),
                "name": "Early Childhood",
                "description": "",
            },
            {"id_school_district": ids, "name": texts, "description": [HUGE, "a\x00b"]},
        ),
        (
            "POST",
            f"/admin/programs/{program}/members",
            {"email": "iris.chen@riverbend-usd.example"},
            {"email": [*texts, "IRIS.CHEN@riverbend-usd.example\x00"]},
        ),
        (
            "POST",
            f"/admin/programs/{program}/members/{membership}/status",
            {"status": "inactive"},
            {"status": ["", "paused", HUGE, "active\x00"]},
        ),
        (
            "POST",
            "/admin/users",
            {
                "name": "Rosa Delgado",
                "email": "rosa.delgado@riverbend-usd.example",
                "id_role": str(role_id(database, "case_manager")),
                "setup": "password",
                "password": GOOD_PASSWORD,
            },
            {
                "name": texts,
                "email": [*texts, "not-an-email"],
                "id_role": [*ids, "999999"],
                "setup": ["", "both", HUGE],
                "password": ["", "short", HUGE, GOOD_PASSWORD + "\x00"],
            },
        ),
        (
            "POST",
            f"/admin/users/{staff.first('case_manager')}/role",
            {"id_role": str(role_id(database, "program_coordinator"))},
            {"id_role": [*ids, "999999"]},
        ),
        (
            "POST",
            f"/admin/roles/{role_id(database, 'nurse')}/permissions",
            {"resource": "goal", "action": "read", "scope": "program"},
            {
                "resource": ["", "planet", HUGE, "goal\x00"],
                "action": ["", "fly", HUGE],
                "scope": ["", "galaxy", HUGE],
            },
        ),
        (
            "POST",
            "/admin/assignments",
            {
                "id_user": str(staff.by_email[demo_email(SECOND_CASE_MANAGER)]),
                "id_program": str(program),
                "identifiers": identifier,
                "access_level": "write",
            },
            {
                "id_user": ids,
                "id_program": ids,
                "identifiers": ["", " , ", HUGE, "a\x00b", "\n".join(f"X{i}" for i in range(201))],
                "access_level": ["", "admin", HUGE],
            },
        ),
        (
            "GET",
            "/audit-events",
            {},
            {
                "student": [HUGE, "a\x00b", "RUSD-000000"],
                "user": [HUGE, "a\x00b@x.example", "nobody@riverbend-usd.example"],
                "action": [HUGE, "drop table", "read\x00"],
                "resource": [HUGE, "a b"],
                "outcome": ["maybe", HUGE],
                "date_from": ["yesterday", "2026-02-30", HUGE, "\x00"],
                "date_to": ["31/12/2026", "99999-01-01"],
                "limit": ["0", "201", "abc", HUGE],
                "cursor": ["not-a-cursor", HUGE, "WzEsMl0"],
            },
        ),
        (
            "GET",
            "/admin/users",
            {},
            {
                "email": [HUGE, "a\x00"],
                "role": ["abc", HUGE],
                "status": ["sleeping", HUGE],
                "limit": ["-5", "abc"],
                "cursor": ["%%%", HUGE],
            },
        ),
    ]


TABLES = (SchoolDistrict, Program, UserProgram, User, Role, RolePermission, UserStudent)


def test_bad_input_on_every_form_is_refused_with_a_4xx_and_changes_nothing(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    make_user(database, settings, email="iris.chen@riverbend-usd.example", name="Iris Chen")
    cases = _form_cases(database, staff)
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    before = {model.__name__: count(database, model) for model in TABLES}
    refused = 0
    for method, path, valid, bad in cases:
        for field, values in bad.items():
            for value in values:
                data = {**valid, field: value}
                if method == "GET":
                    response = pages.get(path, params=data)
                else:
                    response = post(pages, path, data)
                label = f"{method} {path} {field}={value[:30]!r}"
                assert 400 <= response.status_code < 500, label
                assert response.headers["content-type"].startswith("text/html"), label
                refused += 1
    assert refused > 100
    assert {model.__name__: count(database, model) for model in TABLES} == before


def test_wrongly_shaped_bodies_are_refused_as_well(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    token = pages.cookies["csrftoken"]
    districts = count(database, SchoolDistrict)
    as_json = pages.post(
        "/admin/districts", json={"name": "Lakeside"}, headers={"X-CSRFToken": token}
    )
    assert as_json.status_code == 422
    repeated = pages.post(
        "/admin/districts",
        content=f"name=&name=&name=&csrftoken={token}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 422
    assert count(database, SchoolDistrict) == districts


def test_pages_follow_on_with_the_same_filters(
    pages: TestClient, database: Database, settings: Settings, staff: demo.DemoStaff
) -> None:
    sign_in_demo(pages, settings, SYSTEM_ADMIN)
    first = pages.get("/admin/users", params={"status": "active", "limit": "5"})
    names = re.findall(r'<th scope="row"><a href="/admin/users/(\d+)">', first.text)
    assert len(names) == 5
    (next_link,) = re.findall(r'<a href="([^"]+)" rel="next">', first.text)
    assert "status=active" in next_link and "limit=5" in next_link
    second = pages.get(next_link.replace("&amp;", "&"))
    more = re.findall(r'<th scope="row"><a href="/admin/users/(\d+)">', second.text)
    assert more and not set(more) & set(names)
    assert '<a href="/admin/users?status=active&amp;limit=5">First page</a>' in second.text
