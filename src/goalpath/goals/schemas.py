"""Bodies of the goal endpoints, and the nested goal tree.

The tree is written out without recursion: a chain of goals may be deeper than Python's
recursion limit (and JSON encoders recurse per nesting level), so `render_tree` walks
it with the explicit stack of `goals.tree.Forest`. `GoalNode` stays a recursive model so
the OpenAPI document describes the shape exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from goalpath.goals.tree import Forest
from goalpath.kit.schemas import Output, StrictInput

MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# Well inside MariaDB's TEXT (65,535 bytes) at four bytes a character.
Description = Annotated[str, StringConstraints(max_length=10_000)]


class GoalInput(StrictInput):
    title: Title
    description: Description | None = None
    category: Category | None = None
    id_goal_parent: RecordId | None = Field(
        default=None, description="Make this a sub-goal of another goal of the same student"
    )


class GoalUpdate(StrictInput):
    """Fields left out stay unchanged. `id_goal_parent` moves the goal: another goal of
    the same student, or null to make it a root goal."""

    title: Title | None = None
    description: Description | None = None
    category: Category | None = None
    id_goal_parent: RecordId | None = None

    @field_validator("title")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not set to null")
        return value


class Goal(Output):
    id_goal: int
    id_goal_parent: int | None
    id_student: int | None
    id_user_created: int | None
    title: str | None
    description: str | None
    category: str | None
    created_at: datetime | None
    updated_at: datetime | None


class GoalNode(Goal):
    children: list[GoalNode] = Field(default_factory=list, description="Sub-goals")


class GoalTree(Output):
    """A student's whole goal tree: root goals, each with its sub-goals nested."""

    items: list[GoalNode]
    next_cursor: None = Field(default=None, description="Always null: the tree is whole")


def _chunks(goals: Sequence[Any]) -> Iterator[str]:
    yield '{"items":['
    needs_comma = [False]
    for step in Forest(goals).walk():
        if step.goal is None:
            # Closes a goal's children and the goal itself.
            needs_comma.pop()
            yield "]}"
            continue
        if needs_comma[-1]:
            yield ","
        needs_comma[-1] = True
        node = Goal.model_validate(step.goal).model_dump_json()[:-1]
        if step.has_children:
            yield node + ',"children":['
            needs_comma.append(False)
        else:
            yield node + ',"children":[]}'
    yield '],"next_cursor":null}'


def render_tree(goals: Sequence[Any]) -> bytes:
    """The JSON of a GoalTree for `goals` (ordered by id_goal, so siblings are too)."""
    return "".join(_chunks(goals)).encode()
