"""Base models for request and response bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, field_validator

# Ids are INTEGER columns: past this a lookup is no longer "not found" but a driver
# error on some backends (SQLite cannot bind it, PostgreSQL compares as numeric).
MAX_ID = 2**31 - 1
# An id in an API address: out of range is a 422 naming the parameter.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def parse_id(text: str) -> int | None:
    """An id from a page's address, or None for anything that cannot be a row's id
    (pages answer that as a missing record, not with the API's 422)."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID)):
        value = int(text)
        if 1 <= value <= MAX_ID:
            return value
    return None


def storable_text(value: Any) -> Any:
    """Refuse text no database can store: NUL characters (PostgreSQL rejects them) and
    lone surrogates (not encodable as UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError("must be valid Unicode text") from error
    elif isinstance(value, list):
        for item in value:
            storable_text(item)
    return value


class StrictInput(BaseModel):
    """Request bodies: unknown fields are refused (no mass assignment), values are not
    coerced between types, and text must be storable on every backend."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable_text(value)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
