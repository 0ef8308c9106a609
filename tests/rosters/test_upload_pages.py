"""The roster upload page without a browser: the dry run changes nothing, Apply imports
the same upload, the row errors download as CSV, and bad uploads and other people are
refused with a 4xx that changes nothing (SPEC section 15)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.demo.loader import demo_email
from goalpath.models import AuditEvent, RosterSource, SchoolDistrict, Student, User
from goalpath.rosters import reader, uploads
from tests.conftest import make_settings
from tests.fixtures import demo
from tests.fixtures.oneroster import add_to_zip, zipped
from tests.rosters.test_import import USERS, USERS_11, _user, bulk_files, snapshot

DISTRICT_ADMIN = "Marcus Oyelaran"
COORDINATOR = "Priya Raman"
CASE_MANAGER = "Elena Castillo"
TOKEN = re.compile(r'name="token" value="([A-Za-z0-9_-]{43})"')


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def home_district(database: Database, name: str) -> int:
    with database.session_scope() as session:
        district = session.scalar(
            select(User.id_school_district_home).where(User.email == demo_email(name))
        )
        assert district is not None
        return district


def sign_in(client: TestClient, settings: Settings, name: str) -> None:
    client.cookies.clear()
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "email": demo_email(name),
            "password": settings.demo_password,
            "next": "/",
            "csrftoken": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def upload(
    client: TestClient,
    district: int | str,
    content: bytes,
    *,
    caseloads: bool = False,
    filename: str = "roster.zip",
) -> httpx2.Response:
    """The form as a browser sends it: the CSRF field first, then the others, the file."""
    data = {"csrftoken": client.cookies.get("csrftoken", ""), "district": str(district)}
    if caseloads:
        data["caseloads"] = "yes"
    return client.post(
        "/admin/roster",
        data=data,
        files={"roster": (filename, content, "application/zip")},
        headers={"Accept": "text/html"},
    )


def apply(client: TestClient, token: str) -> httpx2.Response:
    return client.post(
        "/admin/roster/apply",
        data={"csrftoken": client.cookies.get("csrftoken", ""), "token": token},
        follow_redirects=False,
    )


def students(database: Database) -> int:
    with database.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Student)) or 0


def test_the_page_offers_the_administrators_districts(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)

    response = pages.get("/admin/roster")

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    # The token field precedes the file field, so the CSRF check need not read the file.
    assert response.text.index('name="csrftoken"', response.text.index('/admin/roster"')) < (
        response.text.index('name="roster"')
    )
    with database.session_scope() as session:
        name = session.get(SchoolDistrict, home_district(database, DISTRICT_ADMIN))
        assert name is not None
        assert name.name in response.text


def test_dry_run_shows_what_would_change_and_changes_nothing(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    district = home_district(database, DISTRICT_ADMIN)
    before = snapshot(database)

    response = upload(pages, district, zipped(bulk_files()), caseloads=True)

    assert response.status_code == 200, response.text
    assert "would change" in response.text
    assert re.search(r"Students</th><td>2</td>", response.text)
    assert re.search(r"Staff accounts</th><td>2</td>", response.text)
    assert "Ignored demographics.csv" in response.text
    assert TOKEN.search(response.text)
    assert snapshot(database) == before
    with database.session_scope() as session:
        preview = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "preview", AuditEvent.resource == "roster"
            )
        ).one()
        assert preview.id_user == staff.by_email[demo_email(DISTRICT_ADMIN)]


def test_apply_imports_the_previewed_upload_once(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    district = home_district(database, DISTRICT_ADMIN)
    before = students(database)
    preview = upload(pages, district, zipped(bulk_files()), caseloads=True)
    match = TOKEN.search(preview.text)
    assert match is not None

    response = apply(pages, match.group(1))

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/roster"
    assert students(database) == before + 2
    with database.session_scope() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(RosterSource)
                .where(RosterSource.id_school_district == district, RosterSource.kind == "student")
            )
            == 2
        )
    shown = pages.get("/admin/roster")
    assert "Roster imported" in shown.text
    assert "Created: 2 programs, 2 staff, 2 students" in shown.text
    # The upload is gone once applied: a second Apply finds nothing and changes nothing.
    again = apply(pages, match.group(1))
    assert again.status_code == 404
    assert students(database) == before + 2


def test_an_upload_refused_at_apply_shows_the_form_again_and_changes_nothing(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    district = home_district(database, DISTRICT_ADMIN)
    preview = upload(pages, district, zipped(bulk_files()), caseloads=True)
    match = TOKEN.search(preview.text)
    assert match is not None
    stored = uploads.upload_root() / match.group(1) / uploads.ZIP_NAME
    broken = bulk_files()
    broken["users"] = [["SourcedId", *USERS_11[1:]], *USERS[1:]]
    stored.write_bytes(zipped(broken))
    before = snapshot(database)

    response = apply(pages, match.group(1))

    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert "is not a OneRoster column name" in response.text
    # The upload form, its district and choice kept, the file to be chosen again.
    assert 'id="roster-error"' in response.text
    assert f'value="{district}" selected' in response.text
    assert 'value="yes" checked' in response.text
    assert snapshot(database) == before
    assert not stored.exists()


def test_a_file_over_the_limit_is_refused_beside_the_file_field(
    pages: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The body limit refuses a large request first; the page's own count is the
    last line, for a body whose size was not announced."""

    def too_large(*args: object, **kwargs: object) -> uploads.Upload:
        raise uploads.UploadTooLarge

    monkeypatch.setattr(uploads, "store", too_large)
    sign_in(pages, settings, DISTRICT_ADMIN)
    before = snapshot(database)

    response = upload(pages, home_district(database, DISTRICT_ADMIN), zipped(bulk_files()))

    assert response.status_code == 413
    assert 'id="roster-error"' in response.text
    assert "Import it with the command line instead" in response.text
    assert snapshot(database) == before


def test_row_errors_download_as_csv_without_formulas(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    files = bulk_files()
    files["users"] = [
        *USERS,
        _user("=HYPERLINK(1)", "student", orgSourcedIds="s1", username=""),
        _user("stu9", "student", orgSourcedIds="s1", username="x" * 51),
    ]
    preview = upload(pages, home_district(database, DISTRICT_ADMIN), zipped(files))
    assert preview.status_code == 200
    assert "2 rows would be skipped" in preview.text
    match = TOKEN.search(preview.text)
    assert match is not None

    response = pages.get(f"/admin/roster/{match.group(1)}/errors.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [
        ["file", "line", "sourcedId", "problem"],
        ["users.csv", "7", "'=HYPERLINK(1)", "no identifier or username"],
        ["users.csv", "8", "stu9", "identifier over 50 characters"],
    ]
    # Another sign-in of the same person does not reach the upload.
    sign_in(pages, settings, DISTRICT_ADMIN)
    assert pages.get(f"/admin/roster/{match.group(1)}/errors.csv").status_code == 404
    assert apply(pages, match.group(1)).status_code == 404


@pytest.mark.parametrize(("name", "status"), [(CASE_MANAGER, 403), (COORDINATOR, 403)])
def test_people_who_may_not_import_are_refused(
    pages: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    name: str,
    status: int,
) -> None:
    sign_in(pages, settings, name)
    district = home_district(database, DISTRICT_ADMIN)
    before = snapshot(database)

    assert pages.get("/admin/roster").status_code == 403
    response = upload(pages, district, zipped(bulk_files()))

    assert response.status_code in (403, 404)
    assert "roster" not in response.text.lower() or "not" in response.text.lower()
    assert snapshot(database) == before


def test_a_district_administrator_cannot_import_into_another_district(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    with database.session_scope() as session:
        other = SchoolDistrict(name="Lakeside")
        session.add(other)
        session.flush()
        id_other = other.id_school_district
    sign_in(pages, settings, DISTRICT_ADMIN)
    before = snapshot(database)

    response = upload(pages, id_other, zipped(bulk_files()))

    assert response.status_code == 404
    assert "you do not have access to it" in response.text
    assert snapshot(database) == before


def _traversal() -> bytes:
    return zipped(bulk_files(), extra={"../evil.csv": b"x"})


def _not_a_zip() -> bytes:
    return b"sourcedId,status\r\n1,active\r\n"


def _too_many_members() -> bytes:
    return zipped(bulk_files(), extra={f"extra-{n}.txt": b"" for n in range(70)})


def _structural() -> bytes:
    files = bulk_files()
    files["users"] = [["SourcedId", *USERS_11[1:]], *USERS[1:]]
    return zipped(files)


def _damaged() -> bytes:
    content = bytearray(zipped(bulk_files()))
    # Flip bytes inside the first member's compressed data; the directory stays intact.
    for offset in range(60, 90):
        content[offset] ^= 0xFF
    return bytes(content)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_traversal, "is not a plain path"),
        (_not_a_zip, "not a zip file"),
        (_too_many_members, "holds more than 64 files"),
        (_structural, "is not a OneRoster column name"),
        (_damaged, "damaged"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    pages: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    make: object,
    message: str,
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    before = snapshot(database)
    assert callable(make)

    response = upload(pages, home_district(database, DISTRICT_ADMIN), make())

    assert response.status_code == 422, response.text
    assert "Nothing was imported" in response.text
    assert message in response.text
    assert "Traceback" not in response.text
    assert snapshot(database) == before


def test_a_zip_bomb_is_refused_from_its_directory(
    pages: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "ARCHIVE_MAX_BYTES", 1024**3)
    sign_in(pages, settings, DISTRICT_ADMIN)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        add_to_zip(bundle, bulk_files())
        with bundle.open("padding.txt", "w", force_zip64=True) as padding:
            zeros = bytes(1024 * 1024)
            for _ in range(1025):
                padding.write(zeros)
    before = snapshot(database)

    response = upload(pages, home_district(database, DISTRICT_ADMIN), buffer.getvalue())

    assert response.status_code == 422
    assert "would unpack to more than 1 GiB" in response.text
    assert snapshot(database) == before


def test_an_upload_without_the_csrf_token_before_the_file_is_refused(
    pages: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    sign_in(pages, settings, DISTRICT_ADMIN)
    response = pages.post(
        "/admin/roster",
        data={"district": str(home_district(database, DISTRICT_ADMIN))},
        files={"roster": ("roster.zip", zipped(bulk_files()), "application/zip")},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text


@pytest.fixture
def small_limit_app(database_url: str, workdir, database: Database) -> FastAPI:  # type: ignore[no-untyped-def]
    settings = make_settings(database_url, workdir, roster_upload_max_bytes=20_000)
    return create_app(settings, database)


def test_an_oversized_upload_is_refused_with_413(
    small_limit_app: FastAPI, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    with TestClient(small_limit_app, raise_server_exceptions=False) as client:
        sign_in(client, settings, DISTRICT_ADMIN)
        before = snapshot(database)
        response = upload(client, home_district(database, DISTRICT_ADMIN), bytes(30_000))
        assert response.status_code == 413
        assert "larger than the 20000 bytes" in response.text
        # Other paths keep the ordinary limit; this one allows more than forms do.
        assert snapshot(database) == before
