"""Bodies of the district endpoints, and the text rules the programs domain shares."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from goalpath.kit.schemas import Output, StrictInput
from goalpath.models.school_district import DEFAULT_TIME_ZONE

# Every id column is a 32-bit integer; a larger id is refused as input, never sent to
# the database (where PostgreSQL would fail on it).
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]

NAME_MAX = 255
DESCRIPTION_MAX = 4000
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _encodable(value: str) -> str:
    # JSON can carry lone surrogates; no database driver can store them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text") from error
    return value


def _single_line(value: str) -> str:
    """A name: trimmed, one line, no control characters (PostgreSQL refuses NUL, and a
    name with line breaks or escapes would garble lists and exports)."""
    value = _encodable(value).strip()
    if not value:
        raise ValueError("must not be blank")
    if len(value) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValueError("must not contain control characters")
    return value


def _multi_line(value: str) -> str:
    value = _encodable(value)
    if len(value) > DESCRIPTION_MAX:
        raise ValueError(f"must be at most {DESCRIPTION_MAX} characters")
    if any(
        unicodedata.category(character) == "Cc" and character not in "\t\n\r" for character in value
    ):
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return value


def _email(value: str) -> str:
    """Compared case-insensitively elsewhere in Goalpath, so stored lower-cased."""
    value = _encodable(value).strip().lower()
    if len(value) > NAME_MAX or not _EMAIL_SHAPE.match(value):
        raise ValueError("must be an email address such as office@district.example")
    return value


def _time_zone(value: str) -> str:
    """An IANA time zone name, such as America/Chicago."""
    if value not in _zone_names():
        raise ValueError("must be a time zone name such as America/Chicago")
    return value


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("must be a two-letter country code such as US")
    return value


Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX + 64), AfterValidator(_single_line)]
TimeZone = Annotated[
    str,
    Field(max_length=64, description="IANA time zone of the district's pages"),
    AfterValidator(_time_zone),
]
CountryCode = Annotated[
    str,
    Field(
        max_length=2,
        description="ISO 3166 country code; US districts see dates in US form",
    ),
    AfterValidator(_country),
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX), AfterValidator(_multi_line)]
Email = Annotated[str, Field(max_length=NAME_MAX + 64), AfterValidator(_email)]


def refuse_null(value: object) -> object:
    """Left out means "unchanged"; null would erase a field that is required."""
    if value is None:
        raise ValueError("may be left out, but not set to null")
    return value


class DistrictInput(StrictInput):
    name: Name
    contact_email: Email | None = None
    time_zone: TimeZone = DEFAULT_TIME_ZONE
    country_code: CountryCode = "US"


class DistrictUpdate(StrictInput):
    name: Name | None = None
    contact_email: Email | None = Field(default=None, description="null removes the address")
    time_zone: TimeZone | None = None
    country_code: CountryCode | None = None

    @field_validator("name", "time_zone", "country_code")
    @classmethod
    def _name_not_null(cls, value: object) -> object:
        return refuse_null(value)


class District(Output):
    id_school_district: int
    name: str | None
    contact_email: str | None
    time_zone: str
    country_code: str
    created_at: datetime | None
