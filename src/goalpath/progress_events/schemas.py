"""Bodies of the progress-event endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from goalpath.health_notes.schemas import free_text
from goalpath.kit.schemas import Output, StrictInput

MAX_ID = 2**31 - 1
CONTENT_MAX_CHARS = 10_000
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Content = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CONTENT_MAX_CHARS,
        description=f"What happened: 1 to {CONTENT_MAX_CHARS:,} characters",
    ),
    AfterValidator(free_text(CONTENT_MAX_CHARS)),
]
GoalLink = Annotated[
    RecordId | None,
    Field(description="One of the same student's goals, or null for an event of no goal"),
]
SensitiveFlag = Annotated[
    bool,
    Field(
        description="Sensitive events are seen only by holders of "
        "progress_event:read_sensitive; setting or clearing the flag needs that right"
    ),
]


class ProgressEventInput(StrictInput):
    content: Content
    id_goal: GoalLink = None
    is_sensitive: SensitiveFlag = False


class ProgressEventUpdate(StrictInput):
    """Fields left out stay unchanged; id_goal may be cleared with null."""

    content: Content | None = None
    id_goal: GoalLink = None
    is_sensitive: SensitiveFlag | None = None

    @field_validator("content", "is_sensitive", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class ProgressEvent(Output):
    id_progress_event: int
    id_student: int | None
    id_goal: int | None
    id_user_created: int | None
    content: str | None
    is_sensitive: bool | None
    created_at: datetime | None
    updated_at: datetime | None


class ProgressEventCount(Output):
    count: int = Field(description="Events matching the filters that you may see")
