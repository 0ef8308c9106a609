"""Base models for request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


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
