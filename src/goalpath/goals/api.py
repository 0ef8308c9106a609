"""HTTP endpoints of the goals domain: /students/{id_student}/goals and /goals/{id_goal}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from goalpath.authz.deps import CurrentActor
from goalpath.goals import service
from goalpath.goals.schemas import MAX_ID, Goal, GoalInput, GoalTree, GoalUpdate, render_tree
from goalpath.kit.etag import set_etag
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses

router = APIRouter(tags=["goals"])

StudentId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_student")]
GoalId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_goal")]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag this change is based on; a stale one is refused with 412"),
]


@router.get(
    "/students/{id_student}/goals",
    response_model=Page[Goal] | GoalTree,
    responses={
        200: {"description": "A page of goals (Page), or with tree=true the tree (GoalTree)"},
        **problem_responses(401, 403, 404, 422),
    },
    summary="A student's goals: a page of them, or with tree=true the whole nested tree",
)
def list_goals(
    id_student: StudentId,
    actor: CurrentActor,
    page: Annotated[PageRequest, Depends(page_request)],
    tree: Annotated[
        bool,
        Query(
            description="Answer the whole tree at once, sub-goals nested in `children`; "
            "limit and cursor do not apply"
        ),
    ] = False,
) -> Page[Goal] | Response:
    if tree:
        # Rendered without pydantic's or json's recursion: see goals.schemas.
        goals = service.goal_tree(actor, id_student)
        return Response(content=render_tree(goals), media_type="application/json")
    items, next_cursor = service.list_goals(actor, id_student, page)
    return Page[Goal](items=[Goal.model_validate(item) for item in items], next_cursor=next_cursor)


@router.post(
    "/students/{id_student}/goals",
    status_code=201,
    response_model=Goal,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s409="The parent goal or the student changed meanwhile",
        s422="Invalid input, or the parent is not one of this student's goals",
    ),
    summary="Create a goal, or a sub-goal with id_goal_parent",
)
def create_goal(
    id_student: StudentId, body: GoalInput, actor: CurrentActor, response: Response
) -> Goal:
    goal = service.create_goal(actor, id_student, body)
    set_etag(response, service.ETAG_KIND, goal.id_goal, goal.updated_at)
    return Goal.model_validate(goal)


@router.get(
    "/goals/{id_goal}",
    response_model=Goal,
    responses=problem_responses(401, 403, 404, 422),
    summary="One goal, with its ETag",
)
def get_goal(id_goal: GoalId, actor: CurrentActor, response: Response) -> Goal:
    goal = service.get_goal(actor, id_goal)
    set_etag(response, service.ETAG_KIND, goal.id_goal, goal.updated_at)
    return Goal.model_validate(goal)


@router.patch(
    "/goals/{id_goal}",
    response_model=Goal,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        412,
        422,
        s409="The move would put the goal under one of its own sub-goals",
        s422="Invalid input, the goal as its own parent, or a parent of another student",
    ),
    summary="Change a goal, or move it with id_goal_parent (null makes it a root goal)",
)
def update_goal(
    id_goal: GoalId,
    body: GoalUpdate,
    actor: CurrentActor,
    response: Response,
    if_match: IfMatch = None,
) -> Goal:
    goal = service.update_goal(actor, id_goal, body, if_match)
    set_etag(response, service.ETAG_KIND, goal.id_goal, goal.updated_at)
    return Goal.model_validate(goal)


@router.delete(
    "/goals/{id_goal}",
    status_code=204,
    responses=problem_responses(
        401,
        403,
        404,
        409,
        422,
        s409="The goal still has sub-goals, progress events or progress reports",
    ),
    summary="Delete a goal that has no sub-goals, events or reports",
)
def delete_goal(id_goal: GoalId, actor: CurrentActor) -> Response:
    service.delete_goal(actor, id_goal)
    return Response(status_code=204)
