"""Bodies of the health-note endpoints, and the free-text rule progress events share."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from goalpath.kit.schemas import Output, StrictInput

MAX_ID = 2**31 - 1
CONTENT_MAX_CHARS = 20_000
# The encrypted form is base64 of the UTF-8 bytes plus Fernet's 57-byte frame, and it
# must fit MariaDB's TEXT column (65,535 bytes): 48,000 bytes of plaintext leave room.
# ASCII notes reach the 20,000-character limit long before this one.
CONTENT_MAX_BYTES = 48_000


def free_text(max_chars: int, max_bytes: int | None = None) -> Callable[[str], str]:
    """A note as written (line breaks and tabs kept, nothing trimmed), refused when it
    is blank, holds other control characters (PostgreSQL refuses NUL), is not valid
    Unicode (JSON can carry lone surrogates that no driver can store), or is too long."""

    def check(value: str) -> str:
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError("must be valid Unicode text") from error
        if not value.strip():
            raise ValueError("must not be blank")
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters")
        if max_bytes is not None and len(encoded) > max_bytes:
            raise ValueError(f"must be at most {max_bytes} bytes in UTF-8")
        if any(
            unicodedata.category(character) == "Cc" and character not in "\t\n\r"
            for character in value
        ):
            raise ValueError("must not contain control characters other than tabs and line breaks")
        return value

    return check


Content = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CONTENT_MAX_CHARS,
        description=f"1 to {CONTENT_MAX_CHARS:,} characters (at most {CONTENT_MAX_BYTES:,} "
        "bytes in UTF-8); stored encrypted",
    ),
    AfterValidator(free_text(CONTENT_MAX_CHARS, CONTENT_MAX_BYTES)),
]


class HealthNoteInput(StrictInput):
    content: Content


class HealthNoteUpdate(StrictInput):
    """Fields left out stay unchanged."""

    content: Content | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class HealthNote(Output):
    id_health_note: int
    id_student: int | None
    id_user_created: int | None
    content: str | None = Field(description="The note, decrypted for this reader")
    created_at: datetime | None
