"""Bodies of the student access endpoints (user_student rows and the explanation)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from goalpath.kit.schemas import Output, StrictInput

AccessLevel = Literal["read", "write"]
MAX_BULK_STUDENTS = 200
# Every id column is a 32-bit integer; a larger id is refused as input, never sent to
# the database (where PostgreSQL would fail on it).
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


class StudentAccessInput(StrictInput):
    id_user: RecordId
    access_level: AccessLevel = Field(
        default="write",
        description="read: the assignment allows only reads; write: every action the "
        "user's role grants on assigned students.",
    )
    is_primary: bool = False


class StudentAccessUpdate(StrictInput):
    access_level: AccessLevel | None = None
    is_primary: bool | None = None

    @field_validator("access_level", "is_primary")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out means "unchanged"; an explicit null would silently mean "write".
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class BulkStudentAccessInput(StrictInput):
    id_user: RecordId
    id_students: list[RecordId] = Field(min_length=1, max_length=MAX_BULK_STUDENTS)
    access_level: AccessLevel = "write"


class StudentAccess(Output):
    """One assignment, with the assigned staff member's name and email."""

    id_user_student: int
    id_user: int | None
    id_student: int | None
    access_level: str | None
    is_primary: bool | None
    name: str | None
    email: str | None


class BulkStudentAccessResult(Output):
    id_user: int
    created: list[StudentAccess] = Field(description="Assignments this request made")
    existing: list[StudentAccess] = Field(
        description="Assignments that were already there; left unchanged"
    )


class AccessReason(Output):
    permission: str
    scope: str
    explanation: str


class AccessExplanation(Output):
    id_student: int
    id_user: int
    role: str | None
    reasons: list[AccessReason]
