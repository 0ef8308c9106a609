"""Bodies of the /users endpoints. `password_hash` has no field here, so it cannot leave
the server by accident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from goalpath.kit.schemas import Output, StrictInput

# Every id column is a 32-bit integer; a larger id is refused as input, never sent to
# the database (where PostgreSQL would fail on it).
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Generous bounds: normalise_email and the password policy give the precise message.
EmailText = Annotated[str, Field(min_length=3, max_length=320)]
NameText = Annotated[str, Field(min_length=1, max_length=255)]
PasswordText = Annotated[str, Field(min_length=1, max_length=1024)]


class UserCreate(StrictInput):
    email: EmailText
    name: NameText
    id_role: RecordId
    password: PasswordText | None = Field(
        default=None,
        description="An initial password that meets the policy; leave it out to email the "
        "person a link to choose their own.",
    )
    id_school_district_home: RecordId | None = Field(
        default=None,
        description="The account's home district; by default the creator's own. Only a "
        "district the creator administers may be named.",
    )


class UserUpdate(StrictInput):
    email: EmailText | None = None
    name: NameText | None = None
    id_role: RecordId | None = None

    @field_validator("email", "name", "id_role")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out means "unchanged"; null would empty a column every account needs.
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class UserOut(Output):
    id_user: int
    id_role: int | None
    email: str | None
    name: str | None
    password_updated_at: datetime | None
    failed_login_attempts: int | None
    locked_until: datetime | None
    created_at: datetime | None
    deactivated_at: datetime | None
    id_school_district_home: int | None


@dataclass(frozen=True)
class UserFilters:
    email_prefix: str | None = None
    id_role: int | None = None
    active: bool | None = None
    # Accounts locked out by failed sign-ins at this moment.
    locked_at: datetime | None = None
