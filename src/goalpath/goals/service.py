"""Goals and sub-goals: each student's goal tree (SPEC section 2).

A parent is always a goal of the same student (checked here with a clear message; the
composite foreign key refuses it too) and the tree has no cycles. The tree is read in
one query and assembled in Python, so its depth is bounded by nothing but the data:
no recursive SQL, no recursion limit on any backend.

Every read is one audit row for the request (SPEC section 6): a goal by id names it; a
page of goals names the goals shown; the tree, which may hold thousands, gives their
count. A caller whose own row already covers the request passes `audited=False`: a page
that read and recorded its main record first, or an export.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from goalpath.authz.actor import Actor
from goalpath.errors import Conflict, PreconditionFailed, ValidationFailed
from goalpath.goals.schemas import GoalInput, GoalUpdate
from goalpath.kit.etag import check_if_match
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import Goal, ProgressEvent, ProgressReport

RESOURCE = "goal"
ETAG_KIND = "goal"
_PARENT_ERROR = {
    "field": "id_goal_parent",
    "message": "Must be one of this student's goals.",
}


def _stamp(now: datetime, previous: datetime | None) -> datetime:
    """The new updated_at: now, but always later than the previous value, so that two
    changes within one clock tick still give the record a new ETag."""
    if previous is not None and now <= previous:
        return previous + timedelta(microseconds=1)
    return now


def list_goals(actor: Actor, id_student: int, page: PageRequest) -> tuple[list[Goal], str | None]:
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    statement = actor.authz.scoped(select(Goal).where(Goal.id_student == id_student), RESOURCE)
    goals, next_cursor = keyset_page(actor.db, statement, [Goal.id_goal.expression], page)
    actor.audit.record(
        "read",
        RESOURCE,
        id_student=id_student,
        details={"id_goal": [goal.id_goal for goal in goals]},
    )
    return goals, next_cursor


def goal_tree(actor: Actor, id_student: int, *, audited: bool = True) -> list[Goal]:
    """Every goal of the student the user may read, in one query, ordered by id_goal;
    `schemas.render_tree` nests them."""
    actor.authz.require_on_student(RESOURCE, "read", id_student)
    statement = actor.authz.scoped(select(Goal).where(Goal.id_student == id_student), RESOURCE)
    goals = list(actor.db.scalars(statement.order_by(Goal.id_goal)))
    if audited:
        actor.audit.record(
            "read", RESOURCE, id_student=id_student, details={"tree": True, "count": len(goals)}
        )
    return goals


def get_goal(actor: Actor, id_goal: int, *, audited: bool = True) -> Goal:
    goal = actor.authz.fetch(Goal, id_goal, RESOURCE)
    if audited:
        actor.audit.record("read", RESOURCE, record_id=id_goal, id_student=goal.id_student)
    return goal


def _require_parent_of_student(actor: Actor, id_goal_parent: int, id_student: int) -> None:
    """422 unless the parent is a goal of the same student that the user can read; the
    same answer whether the id is unknown or another student's, so nothing leaks."""
    statement = actor.authz.scoped(
        select(Goal.id_goal).where(Goal.id_goal == id_goal_parent, Goal.id_student == id_student),
        RESOURCE,
    )
    if actor.db.scalar(statement) is None:
        raise ValidationFailed(
            "The parent goal must be one of this student's goals; a goal cannot be a "
            "sub-goal of another student's goal.",
            errors=[_PARENT_ERROR],
        )


def create_goal(actor: Actor, id_student: int, body: GoalInput) -> Goal:
    actor.authz.require_on_student(RESOURCE, "create", id_student)
    if body.id_goal_parent is not None:
        _require_parent_of_student(actor, body.id_goal_parent, id_student)
    values = body.model_dump(exclude_unset=True)
    now = actor.info.now
    goal = Goal(
        **values,
        id_student=id_student,
        id_user_created=actor.id_user,
        created_at=now,
        updated_at=now,
    )
    actor.db.add(goal)
    try:
        actor.db.flush()
    except IntegrityError as error:
        # The parent was deleted, or the student removed, between the check and the insert.
        raise Conflict(
            "The parent goal or the student changed meanwhile; reload and try again."
        ) from error
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=goal.id_goal,
        id_student=id_student,
        details={"fields": sorted(values)},
    )
    return goal


def _require_no_cycle(actor: Actor, goal: Goal, id_goal_parent: int) -> None:
    """Refuse moving a goal under itself or under one of its descendants.

    The student's whole parent map is read in one query, unfiltered by the reader's
    scope: the tree's integrity depends on every goal, seen or not. The rows are locked
    so that two concurrent moves in one tree cannot each pass the check and together
    make a cycle (and so MariaDB reads them as committed, not from an older snapshot)."""
    if id_goal_parent == goal.id_goal:
        raise ValidationFailed(
            "A goal cannot be its own parent.",
            errors=[{"field": "id_goal_parent", "message": "This is the goal itself."}],
        )
    parents: dict[int, int | None] = dict(
        actor.db.execute(
            select(Goal.id_goal, Goal.id_goal_parent)
            .where(Goal.id_student == goal.id_student)
            .order_by(Goal.id_goal)
            .with_for_update()
        ).all()
    )
    seen: set[int] = set()
    ancestor: int | None = id_goal_parent
    while ancestor is not None and ancestor not in seen:
        if ancestor == goal.id_goal:
            raise Conflict(
                "A goal cannot be moved under one of its own sub-goals: that would make "
                "a cycle in the goal tree. Move the sub-goal out first.",
                errors=[
                    {"field": "id_goal_parent", "message": "This is a descendant of the goal."}
                ],
            )
        seen.add(ancestor)
        ancestor = parents.get(ancestor)


def update_goal(actor: Actor, id_goal: int, body: GoalUpdate, if_match: str | None) -> Goal:
    goal = actor.authz.fetch(Goal, id_goal, RESOURCE, "update")
    check_if_match(if_match, ETAG_KIND, goal.id_goal, goal.updated_at)
    changes = body.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(goal, name) != value)
    if not changed:
        return goal
    new_parent = changes.get("id_goal_parent")
    if "id_goal_parent" in changed and new_parent is not None:
        assert goal.id_student is not None
        _require_parent_of_student(actor, new_parent, goal.id_student)
        _require_no_cycle(actor, goal, new_parent)
    previous = goal.updated_at
    values: dict[str, Any] = {name: changes[name] for name in changed}
    values["updated_at"] = _stamp(actor.info.now, previous)
    # Written only if the row is still the version this request read: a concurrent
    # change that landed after the If-Match check is not overwritten.
    unchanged = Goal.updated_at.is_(None) if previous is None else Goal.updated_at == previous
    try:
        result = actor.db.execute(
            update(Goal)
            .where(Goal.id_goal == id_goal, unchanged)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError as error:
        raise Conflict("The new parent goal was removed meanwhile; reload and retry.") from error
    if getattr(result, "rowcount", 1) != 1:
        raise PreconditionFailed(
            "The goal changed while this request was being handled; reload it and apply "
            "your change again."
        )
    for name, value in values.items():
        set_committed_value(goal, name, value)
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_goal,
        id_student=goal.id_student,
        details={"fields": changed},
    )
    return goal


def delete_goal(actor: Actor, id_goal: int) -> None:
    goal = actor.authz.fetch(Goal, id_goal, RESOURCE, "delete")
    has_children, has_events, has_reports = actor.db.execute(
        select(
            exists().where(Goal.id_goal_parent == id_goal),
            exists().where(ProgressEvent.id_goal == id_goal),
            exists().where(ProgressReport.id_goal == id_goal),
        )
    ).one()
    remaining = [
        name
        for name, present in (
            ("sub-goals", has_children),
            ("progress events", has_events),
            ("progress reports", has_reports),
        )
        if present
    ]
    if remaining:
        raise Conflict(
            "This goal cannot be deleted while it has "
            + ", ".join(remaining)
            + "; delete or move them first, so that no record is lost."
        )
    id_student = goal.id_student
    actor.db.delete(goal)
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict(
            "Records were added to this goal meanwhile; it cannot be deleted."
        ) from error
    actor.audit.record("delete", RESOURCE, record_id=id_goal, id_student=id_student)
