"""/students/{id}/health-notes and /health-notes/{id}: encrypted at rest, hidden from
everyone without health_note:read, and every read on the audit trail."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import text

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.health_notes.crypto import HealthNoteCipher, new_key
from goalpath.models import HealthNote
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.health_notes.support import (
    API,
    assigned,
    audit_rows,
    forged_cursor,
    headers_for,
    note_ids,
    other_district,
    program_students,
    shared_student,
    sign_in_other,
)

PLAINTEXT = "Seizure action plan: call 911 if a seizure lasts over five minutes."


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def raw_content(database: Database, id_health_note: int) -> str:
    """The column as a database dump or backup would hold it."""
    with database.engine.connect() as connection:
        value = connection.execute(
            text("SELECT content FROM health_note WHERE id_health_note = :id"),
            {"id": id_health_note},
        ).scalar_one()
    assert isinstance(value, str)
    return value


def create_note(
    client: TestClient, headers: dict[str, str], id_student: int, content: str = PLAINTEXT
) -> dict[str, object]:
    response = client.post(
        f"{API}/students/{id_student}/health-notes", headers=headers, json={"content": content}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_database_holds_no_plaintext(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_counselor = staff.first("counselor")
    id_student = assigned(database, id_counselor)[0]
    counselor = headers_for(client, settings, staff, "counselor")
    created = create_note(client, counselor, id_student)
    assert created["content"] == PLAINTEXT
    assert created["id_student"] == id_student
    assert created["id_user_created"] == id_counselor
    assert set(created) == {
        "id_health_note",
        "id_student",
        "id_user_created",
        "content",
        "created_at",
    }

    stored = raw_content(database, int(str(created["id_health_note"])))
    assert PLAINTEXT not in stored
    assert "Seizure" not in stored and "911" not in stored
    assert HealthNoteCipher.from_settings(settings).decrypt(stored) == PLAINTEXT

    read = client.get(f"{API}/health-notes/{created['id_health_note']}", headers=counselor)
    assert read.status_code == 200, read.text
    assert read.json()["content"] == PLAINTEXT
    # Nor does the audit trail carry the note: field names only.
    for row in audit_rows(database, resource="health_note"):
        assert "Seizure" not in (row.details or "")


def test_demo_notes_are_encrypted_too(database: Database, staff: demo.DemoStaff) -> None:
    with database.engine.connect() as connection:
        stored = connection.execute(text("SELECT content FROM health_note")).scalars().all()
    assert stored
    assert not any("Asthma" in value or "diabetes" in value for value in stored)


def test_a_case_manager_never_sees_notes_the_assigned_counselor_reads(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = shared_student(database, staff.first("case_manager"), staff.first("counselor"))
    counselor = headers_for(client, settings, staff, "counselor")
    case_manager = headers_for(client, settings, staff, "case_manager")
    note = create_note(client, counselor, id_student)
    item = f"{API}/health-notes/{note['id_health_note']}"
    listing = f"{API}/students/{id_student}/health-notes"

    # The case manager reads the student, but the notes do not exist for them.
    assert client.get(f"{API}/students/{id_student}", headers=case_manager).status_code == 200
    assert client.get(item, headers=case_manager).status_code == 404
    assert client.get(listing, headers=case_manager).status_code == 404
    assert client.patch(item, headers=case_manager, json={"content": "x"}).status_code == 404
    assert client.delete(item, headers=case_manager).status_code == 404
    refused = client.post(listing, headers=case_manager, json={"content": "A note."})
    assert refused.status_code == 403
    assert raw_content(database, int(str(note["id_health_note"])))  # still there

    read = client.get(item, headers=counselor)
    assert read.status_code == 200
    assert read.json()["content"] == PLAINTEXT
    listed = client.get(listing, headers=counselor)
    assert listed.status_code == 200
    assert note["id_health_note"] in [entry["id_health_note"] for entry in listed.json()["items"]]

    denied = audit_rows(database, id_user=staff.first("case_manager"), outcome="denied")
    assert {row.resource for row in denied} == {"health_note"}
    assert len(denied) == 5


def test_a_counselor_not_assigned_gets_404(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = assigned(database, staff.first("counselor"))[0]
    assert id_student not in assigned(database, staff.by_role["counselor"][1])
    note = create_note(client, headers_for(client, settings, staff, "counselor"), id_student)
    other = headers_for(client, settings, staff, "counselor", 1)
    assert (
        client.get(f"{API}/health-notes/{note['id_health_note']}", headers=other).status_code == 404
    )
    assert client.get(f"{API}/students/{id_student}/health-notes", headers=other).status_code == 404
    assert (
        client.post(
            f"{API}/students/{id_student}/health-notes", headers=other, json={"content": "Hi."}
        ).status_code
        == 404
    )


def test_another_district_sees_nothing_and_shows_nothing(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    hillcrest = other_district(database, settings)
    theirs = sign_in_other(client, hillcrest.counselor_email)
    ours = headers_for(client, settings, staff, "counselor")
    their_note = create_note(client, theirs, hillcrest.id_student, "Hillcrest note.")
    our_note = create_note(client, ours, assigned(database, staff.first("counselor"))[0])

    assert (
        client.get(f"{API}/health-notes/{our_note['id_health_note']}", headers=theirs).status_code
        == 404
    )
    assert (
        client.get(f"{API}/health-notes/{their_note['id_health_note']}", headers=ours).status_code
        == 404
    )
    assert (
        client.get(f"{API}/students/{hillcrest.id_student}/health-notes", headers=ours).status_code
        == 404
    )
    changed = client.patch(
        f"{API}/health-notes/{their_note['id_health_note']}", headers=ours, json={"content": "x"}
    )
    assert changed.status_code == 404
    system_admin = headers_for(client, settings, staff, "system_admin")
    seen = client.get(f"{API}/health-notes/{their_note['id_health_note']}", headers=system_admin)
    assert seen.json()["content"] == "Hillcrest note."


def test_nurse_reads_by_program_and_only_authors_change_notes(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_counselor = staff.first("counselor")
    id_nurse = staff.first("nurse")
    id_student = next(
        s for s in assigned(database, id_counselor) if s in program_students(database, id_nurse)
    )
    nurse = headers_for(client, settings, staff, "nurse")
    counselor = headers_for(client, settings, staff, "counselor")
    note = create_note(client, nurse, id_student, "Epinephrine auto-injector in the office.")
    item = f"{API}/health-notes/{note['id_health_note']}"
    before = raw_content(database, int(str(note["id_health_note"])))

    assert client.get(item, headers=counselor).json()["content"].startswith("Epinephrine")
    assert client.patch(item, headers=counselor, json={"content": "Changed."}).status_code == 403
    assert client.delete(item, headers=counselor).status_code == 403

    changed = client.patch(item, headers=nurse, json={"content": "Auto-injector in the bag."})
    assert changed.status_code == 200, changed.text
    assert changed.json()["content"] == "Auto-injector in the bag."
    after = raw_content(database, int(str(note["id_health_note"])))
    assert after != before and "Auto-injector" not in after
    assert client.get(item, headers=counselor).json()["content"] == "Auto-injector in the bag."

    assert client.patch(item, headers=nurse, json={"content": None}).status_code == 422
    assert client.delete(item, headers=nurse).status_code == 204
    assert client.get(item, headers=nurse).status_code == 404
    assert note["id_health_note"] not in note_ids(database, id_student)


def test_every_read_and_change_is_audited_without_contents(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_counselor = staff.first("counselor")
    id_student = assigned(database, id_counselor)[0]
    counselor = headers_for(client, settings, staff, "counselor")
    first = create_note(client, counselor, id_student, "First note.")
    second = create_note(client, counselor, id_student, "Second note.")
    mine = {"id_user": id_counselor, "resource": "health_note"}

    created = audit_rows(database, action="create", **mine)
    assert [row.record_id for row in created] == [
        str(first["id_health_note"]),
        str(second["id_health_note"]),
    ]
    assert all(json.loads(row.details or "{}") == {"fields": ["content"]} for row in created)

    listed = client.get(f"{API}/students/{id_student}/health-notes", headers=counselor)
    assert listed.status_code == 200
    shown = [entry["id_health_note"] for entry in listed.json()["items"]]
    reads = audit_rows(database, action="read", **mine)
    assert len(reads) == 1  # one row for the page, not one per note
    assert reads[0].id_student == id_student
    assert json.loads(reads[0].details or "{}") == {"id_health_note": shown}
    assert set(shown) >= {first["id_health_note"], second["id_health_note"]}

    client.get(f"{API}/health-notes/{first['id_health_note']}", headers=counselor)
    reads = audit_rows(database, action="read", **mine)
    assert len(reads) == 2
    assert reads[1].record_id == str(first["id_health_note"])
    assert reads[1].id_student == id_student

    client.patch(
        f"{API}/health-notes/{first['id_health_note']}",
        headers=counselor,
        json={"content": "First note, revised."},
    )
    # The same text again changes nothing and writes nothing.
    client.patch(
        f"{API}/health-notes/{first['id_health_note']}",
        headers=counselor,
        json={"content": "First note, revised."},
    )
    client.delete(f"{API}/health-notes/{second['id_health_note']}", headers=counselor)
    updates = audit_rows(database, action="update", **mine)
    assert len(updates) == 1
    assert json.loads(updates[0].details or "{}") == {"fields": ["content"]}
    deletes = audit_rows(database, action="delete", **mine)
    assert [row.record_id for row in deletes] == [str(second["id_health_note"])]
    for row in audit_rows(database, resource="health_note"):
        assert "note" not in (row.details or "").replace("health_note", "")
        assert row.ip is not None


def test_list_is_newest_first_in_pages_with_fixed_statements(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = assigned(database, staff.first("counselor"))[0]
    counselor = headers_for(client, settings, staff, "counselor")
    for number in range(3):
        create_note(client, counselor, id_student, f"Note {number}.")
    expected = note_ids(database, id_student)
    assert len(expected) >= 3

    listing = f"{API}/students/{id_student}/health-notes"
    seen: list[int] = []
    cursor = None
    while True:
        response = client.get(
            listing,
            headers=counselor,
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        assert response.status_code == 200, response.text
        seen += [entry["id_health_note"] for entry in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected

    counts = []
    for limit in (1, 50):
        with count_statements(database.engine) as log:
            response = client.get(listing, headers=counselor, params={"limit": limit})
        assert response.status_code == 200
        assert len(response.json()["items"]) == min(limit, len(expected))
        counts.append(log.count)
    assert counts[0] == counts[1]


def test_bad_input_is_refused(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = assigned(database, staff.first("counselor"))[0]
    counselor = headers_for(client, settings, staff, "counselor")
    url = f"{API}/students/{id_student}/health-notes"
    before = len(note_ids(database, id_student))
    for body in (
        {},
        {"content": ""},
        {"content": "   \n"},
        {"content": "a" * 20_001},
        {"content": "\u6f22" * 20_000},  # 60,000 bytes: its ciphertext would not fit
        {"content": "null\u0000byte"},
        {"content": 5},
        {"content": "ok", "id_user_created": 1},
    ):
        response = client.post(url, headers=counselor, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    # JSON may escape a lone surrogate, which no database driver can store.
    surrogate = client.post(
        url,
        headers={**counselor, "Content-Type": "application/json"},
        content=b'{"content": "lone \\ud800 surrogate"}',
    )
    assert surrogate.status_code == 422, surrogate.text
    assert len(note_ids(database, id_student)) == before

    longest = create_note(client, counselor, id_student, "a" * 20_000)
    assert len(str(longest["content"])) == 20_000
    multilingual = "Notes in \u4e2d\u6587 and emoji \U0001f44d\n\tindented"
    assert create_note(client, counselor, id_student, multilingual)["content"] == multilingual

    for cursor in (
        "garbage",
        forged_cursor(["x"]),
        forged_cursor([2**70]),
        forged_cursor([{"t": 5}]),
    ):
        response = client.get(url, headers=counselor, params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
    assert client.get(f"{API}/health-notes/0", headers=counselor).status_code == 422
    assert client.get(f"{API}/health-notes/{2**40}", headers=counselor).status_code == 422


def test_a_note_under_a_removed_key_is_unavailable_not_an_error(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = assigned(database, staff.first("counselor"))[0]
    with database.session_scope() as session:
        note = HealthNote(
            id_student=id_student,
            id_user_created=staff.first("counselor"),
            content=Fernet(new_key().encode()).encrypt(b"Written under a lost key.").decode(),
        )
        session.add(note)
        session.flush()
        id_health_note = note.id_health_note
    counselor = headers_for(client, settings, staff, "counselor")
    response = client.get(f"{API}/health-notes/{id_health_note}", headers=counselor)
    assert response.status_code == 503
    assert "configured keys" in response.json()["detail"]
    listed = client.get(f"{API}/students/{id_student}/health-notes", headers=counselor)
    assert listed.status_code == 503
    assert "lost key" not in listed.text


def test_the_cipher_is_built_once_per_app(
    client: TestClient, app: object, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    id_student = assigned(database, staff.first("counselor"))[0]
    counselor = headers_for(client, settings, staff, "counselor")
    create_note(client, counselor, id_student)
    cipher = app.state.health_note_cipher  # type: ignore[attr-defined]
    assert isinstance(cipher, HealthNoteCipher)
    client.get(f"{API}/students/{id_student}/health-notes", headers=counselor)
    assert app.state.health_note_cipher is cipher  # type: ignore[attr-defined]
