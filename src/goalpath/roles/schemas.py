"""Bodies of the /roles and /permissions endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from goalpath.kit.schemas import Output, StrictInput
from goalpath.users.schemas import RecordId

RoleName = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=2000)]


class RoleCreate(StrictInput):
    name: RoleName
    description: Description | None = None
    requires_second_factor: bool = False


class RoleUpdate(StrictInput):
    name: RoleName | None = None
    description: Description | None = Field(default=None, description="null clears it")
    requires_second_factor: bool | None = Field(
        default=None, description="Its holders must sign in with a second factor"
    )

    @field_validator("name", "requires_second_factor")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out means "unchanged"; every role needs a name and a yes or no.
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class RoleOut(Output):
    id_role: int
    name: str | None
    description: str | None
    requires_second_factor: bool
    created_at: datetime | None


class PermissionOut(Output):
    id_permission: int
    name: str | None
    description: str | None
    resource: str | None
    action: str | None
    scope: str | None


class RolePermissionInput(StrictInput):
    id_permission: RecordId


@dataclass(frozen=True)
class PermissionFilters:
    resource: str | None = None
    action: str | None = None
    scope: str | None = None
