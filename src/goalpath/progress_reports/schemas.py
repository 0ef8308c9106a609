"""Bodies of the progress report endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, computed_field, field_validator, model_validator

from goalpath.kit.schemas import Output, StrictInput
from goalpath.progress_reports.periods import MAX_NAME_LENGTH, MAX_YEAR, MIN_YEAR

MAX_ID = 2**31 - 1
# Well inside MariaDB's TEXT (65,535 bytes) at up to three bytes a character.
MAX_SUMMARY = 20_000
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
PeriodName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]
Year = Annotated[
    int,
    Field(ge=MIN_YEAR, le=MAX_YEAR, description="Calendar year in which the school year starts"),
]
Summary = Annotated[str, StringConstraints(max_length=MAX_SUMMARY)]
Status = Literal["missing", "draft", "final"]


class ReportUpdate(StrictInput):
    """Only the text changes; a final report is read-only until reopened."""

    summary: Summary | None = None

    @field_validator("summary")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class GenerateInput(StrictInput):
    """Draft reports for one period: for one goal, one student or a whole program."""

    period: PeriodName
    year: Year
    id_goal: RecordId | None = Field(default=None, description="One root goal")
    id_student: RecordId | None = Field(default=None, description="Every root goal of a student")
    id_program: RecordId | None = Field(
        default=None, description="Every root goal of every student of a program"
    )

    @model_validator(mode="after")
    def _exactly_one_target(self) -> GenerateInput:
        given = [
            name
            for name in ("id_goal", "id_student", "id_program")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of id_goal, id_student or id_program")
        return self

    replace_edited: bool = Field(
        default=False,
        description="Also draft again the drafts whose summary staff edited (their "
        "text is kept as a report revision). Without it they are left as they are and "
        "counted in skipped_edited: ask the person first",
    )


class ProgressReport(Output):
    id_progress_report: int
    id_student: int | None
    id_goal: int | None
    id_user_created: int | None
    period: str | None
    year: int | None
    summary: str | None
    generated_at: datetime | None
    finalized_at: datetime | None
    id_user_finalized: int | None
    review_reason: str | None = Field(
        description="Why the report waits for review (event_marked_sensitive: an event it "
        "may quote has been marked sensitive); null when it does not. While set, exports "
        "carry a notice instead of the summary; finalising clears it"
    )
    review_requested_at: datetime | None = Field(description="When the review was asked for")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["draft", "final"]:
        return "final" if self.finalized_at is not None else "draft"


class GenerationResult(Output):
    created: int = Field(description="Reports drafted for the first time")
    updated: int = Field(description="Drafts whose summary was drafted again")
    skipped_final: int = Field(description="Final reports, left untouched")
    skipped_forbidden: int = Field(
        description="Existing drafts the user may not change, left untouched"
    )
    skipped_edited: int = Field(
        default=0,
        description="Drafts whose summary staff edited, left untouched (replace_edited "
        "was not given); a person should open each and decide",
    )
    ids: list[int] = Field(description="id_progress_report of every created or updated report")


class StatusTotals(Output):
    missing: int = 0
    draft: int = 0
    final: int = 0


class GoalStatus(Output):
    id_goal: int
    title: str | None
    status: Status
    id_progress_report: int | None


class StudentStatus(Output):
    id_student: int
    identifier: str | None
    goals: list[GoalStatus] = Field(description="The student's root goals")
    totals: StatusTotals


class ReportStatusBoard(Output):
    id_program: int
    period: str
    year: int
    items: list[StudentStatus]
    totals: StatusTotals
