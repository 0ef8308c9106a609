"""Re-encrypting every health note under the newest key (SPEC section 2: the key is
rotatable; procedure in docs/operations.md).

Each batch is its own transaction, so a rotation over a large district neither holds
one long transaction nor loses its work if interrupted: running it again finishes the
job (re-encrypting a note already under the newest key is harmless). A note is written
back only if it still holds the ciphertext that was read, so an edit the app makes
meanwhile is never overwritten with the older text; the edit is rotated in its turn.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import HealthNote


class RotationFailed(Exception):
    pass


def _rotate_one(
    session: Session, cipher: HealthNoteCipher, id_health_note: int, content: str
) -> int:
    """1 once the note is under the newest key, 0 if it was deleted meanwhile."""
    while True:
        try:
            fresh = cipher.rotate(content)
        except Exception as error:
            # cryptography raises InvalidToken, or ValueError/TypeError for a token that
            # is not base64: all mean the same to the operator.
            raise RotationFailed(
                f"health note {id_health_note} cannot be decrypted with any configured key; "
                "add back the key it was written with and run the rotation again (the "
                "notes before it are already rotated)"
            ) from error
        result = session.execute(
            update(HealthNote)
            .where(HealthNote.id_health_note == id_health_note, HealthNote.content == content)
            .values(content=fresh)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            return 1
        # Edited or deleted since the batch was read: rotate what is there now.
        current = session.scalar(
            select(HealthNote.content).where(HealthNote.id_health_note == id_health_note)
        )
        if current is None:
            return 0
        content = current


def rotate_health_note_keys(
    database: Database, settings: Settings, *, batch_size: int = 500
) -> int:
    """Re-encrypt every note under the first key of `settings.health_note_keys`; the
    number of notes re-encrypted."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cipher = HealthNoteCipher.from_settings(settings)
    rotated = 0
    after = 0
    while True:
        with database.session_scope() as session:
            batch = session.execute(
                select(HealthNote.id_health_note, HealthNote.content)
                .where(HealthNote.id_health_note > after, HealthNote.content.is_not(None))
                .order_by(HealthNote.id_health_note)
                .limit(batch_size)
            ).all()
            if not batch:
                return rotated
            for id_health_note, content in batch:
                if content is not None:
                    rotated += _rotate_one(session, cipher, id_health_note, content)
            after = batch[-1].id_health_note
