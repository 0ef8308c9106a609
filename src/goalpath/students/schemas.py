"""Bodies of the student endpoints.

A student carries no name (SPEC section 2: data minimisation): the inputs forbid
unknown fields, so a name or a birth date sent by a client is refused, never stored
and never silently dropped.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from goalpath.kit.schemas import Output, StrictInput

MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    Field(description="The district's own student ID (1 to 50 characters)"),
]
ProgramYear = Annotated[int, Field(ge=1, le=99, description="Year within the program")]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """JSON has no date type: accept exactly YYYY-MM-DD. Strict models refuse strings for
    dates, and lax parsing would also take numbers as Unix timestamps."""
    if isinstance(value, str):
        if not _ISO_DATE.match(value):
            raise ValueError("write dates as YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a calendar date") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("write dates as YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _check_dates(enrollment_date: date | None, expected_grad: date | None) -> None:
    if enrollment_date and expected_grad and expected_grad < enrollment_date:
        raise ValueError("expected_grad must not be before enrollment_date")


class StudentInput(StrictInput):
    id_program: RecordId
    identifier: Identifier
    program_year: ProgramYear | None = None
    enrollment_date: IsoDate | None = None
    expected_grad: IsoDate | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> StudentInput:
        _check_dates(self.enrollment_date, self.expected_grad)
        return self


class StudentUpdate(StrictInput):
    """Fields left out stay unchanged; dates and program_year may be cleared with null."""

    id_program: RecordId | None = Field(
        default=None, description="Move the student to another program"
    )
    identifier: Identifier | None = None
    program_year: ProgramYear | None = None
    enrollment_date: IsoDate | None = None
    expected_grad: IsoDate | None = None

    @field_validator("id_program", "identifier")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # A student always belongs to a program and has an identifier.
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class Student(Output):
    id_student: int
    id_program: int | None
    identifier: str | None
    program_year: int | None
    enrollment_date: date | None
    expected_grad: date | None
    created_at: datetime | None
    withdrawn_on: date | None = Field(
        description="When a roster import marked the student withdrawn, else null"
    )
