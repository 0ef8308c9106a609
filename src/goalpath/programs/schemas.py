"""Bodies of the program and program membership endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from goalpath.districts.schemas import Description, Name, RecordId, refuse_null
from goalpath.kit.schemas import Output, StrictInput

MembershipStatus = Literal["active", "inactive"]


class ProgramInput(StrictInput):
    id_school_district: RecordId
    name: Name
    description: Description | None = None


class ProgramUpdate(StrictInput):
    """A program stays in its district: moving it would move its students' records
    between districts, which is a decision for the people of both."""

    name: Name | None = None
    description: Description | None = Field(default=None, description="null removes it")

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: object) -> object:
        return refuse_null(value)


class Program(Output):
    id_program: int
    id_school_district: int | None
    name: str | None
    description: str | None
    created_at: datetime | None


class MembershipInput(StrictInput):
    id_user: RecordId
    is_primary: bool = False
    status: MembershipStatus = Field(
        default="active", description="Only active memberships grant access."
    )


class MembershipUpdate(StrictInput):
    is_primary: bool | None = None
    status: MembershipStatus | None = None

    @field_validator("is_primary", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return refuse_null(value)


class Membership(Output):
    """A user_program row. `name` and `email` are the member's, shown only when the
    viewer may read that user's account."""

    id_user_program: int
    id_user: int | None
    id_program: int | None
    is_primary: bool | None
    status: str | None
    joined_at: datetime | None
    name: str | None
    email: str | None
