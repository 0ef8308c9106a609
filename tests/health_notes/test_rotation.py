"""Rotating the health-note key: add the new key in front, re-encrypt, drop the old."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from goalpath.app import create_app
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.health_notes.crypto import HealthNoteCipher, new_key
from goalpath.health_notes.rotation import RotationFailed, _rotate_one, rotate_health_note_keys
from goalpath.models import HealthNote
from tests.fixtures import demo
from tests.health_notes.support import API, assigned, headers_for, sign_in


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


def stored_notes(database: Database) -> dict[int, str]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id_health_note, content FROM health_note ORDER BY id_health_note")
        ).all()
    return {int(row[0]): str(row[1]) for row in rows}


def with_keys(settings: Settings, keys: str) -> Settings:
    return settings.model_copy(update={"health_note_keys": keys})


def test_rotation_keeps_every_note_readable_under_the_new_key_alone(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    old_key = settings.health_note_keys
    assert old_key and "," not in old_key
    new = new_key()
    id_student = assigned(database, staff.first("counselor"))[0]
    counselor = headers_for(client, settings, staff, "counselor")
    texts = [f"Note {n} written under the old key." for n in range(3)]
    created = []
    for content in texts:
        response = client.post(
            f"{API}/students/{id_student}/health-notes",
            headers=counselor,
            json={"content": content},
        )
        assert response.status_code == 201
        created.append(response.json()["id_health_note"])
    before = stored_notes(database)
    assert len(before) > len(created)  # the demo district's notes are rotated too

    email = next(e for e, i in staff.by_email.items() if i == staff.first("counselor"))
    new_only = with_keys(settings, new)
    # Without rotation the new key alone cannot read the old notes.
    with TestClient(create_app(new_only, database), raise_server_exceptions=False) as early:
        headers = sign_in(early, email, settings.demo_password)
        assert early.get(f"{API}/health-notes/{created[0]}", headers=headers).status_code == 503

    rotated = rotate_health_note_keys(
        database, with_keys(settings, f"{new},{old_key}"), batch_size=2
    )
    assert rotated == len(before)
    after = stored_notes(database)
    assert set(after) == set(before)
    for id_health_note, ciphertext in after.items():
        assert ciphertext != before[id_health_note]
        Fernet(new.encode()).decrypt(ciphertext.encode())
        with pytest.raises(InvalidToken):
            Fernet(old_key.encode()).decrypt(ciphertext.encode())

    with TestClient(create_app(new_only, database), raise_server_exceptions=False) as later:
        headers = sign_in(later, email, settings.demo_password)
        for id_health_note, content in zip(created, texts, strict=True):
            response = later.get(f"{API}/health-notes/{id_health_note}", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["content"] == content
        listed = later.get(f"{API}/students/{id_student}/health-notes", headers=headers)
        assert listed.status_code == 200
        assert {entry["content"] for entry in listed.json()["items"]} >= set(texts)


def test_rotation_stops_at_a_note_no_key_opens(
    settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    with database.session_scope() as session:
        stranger = HealthNote(
            id_student=assigned(database, staff.first("counselor"))[0],
            content=Fernet(new_key().encode()).encrypt(b"unknown key").decode(),
        )
        session.add(stranger)
        session.flush()
        id_stranger = stranger.id_health_note
    keys = f"{new_key()},{settings.health_note_keys}"
    with pytest.raises(RotationFailed, match=f"health note {id_stranger} "):
        rotate_health_note_keys(database, with_keys(settings, keys))
    with pytest.raises(ValueError, match="batch_size"):
        rotate_health_note_keys(database, settings, batch_size=0)


def test_a_note_edited_during_rotation_keeps_the_edit(
    settings: Settings, database: Database, staff: demo.DemoStaff
) -> None:
    old = HealthNoteCipher.from_settings(settings)
    new = new_key()
    both = HealthNoteCipher([new, str(settings.health_note_keys)])
    with database.session_scope() as session:
        note = HealthNote(
            id_student=assigned(database, staff.first("counselor"))[0],
            content=old.encrypt("Before the edit."),
        )
        session.add(note)
        session.flush()
        id_health_note = note.id_health_note
        read_by_rotation = note.content
    assert read_by_rotation is not None
    with database.session_scope() as session:
        session.get_one(HealthNote, id_health_note).content = both.encrypt("After the edit.")
    with database.session_scope() as session:
        assert _rotate_one(session, both, id_health_note, read_by_rotation) == 1
    with database.session_scope() as session:
        stored = session.scalar(
            select(HealthNote.content).where(HealthNote.id_health_note == id_health_note)
        )
    assert stored is not None
    assert HealthNoteCipher([new]).decrypt(stored) == "After the edit."
