"""/api/v1/users: staff accounts, their roles, deactivation, unlock and sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from goalpath.auth.deps import app_settings
from goalpath.auth.events import security_event
from goalpath.auth.lockout import unlock_account
from goalpath.auth.passwords import Passwords
from goalpath.auth.service import reset_second_factor
from goalpath.authz.deps import CurrentActor
from goalpath.kit.pagination import Page, PageRequest, page_request
from goalpath.kit.problems import problem_responses
from goalpath.mail.sender import Mailer
from goalpath.users import service
from goalpath.users.schemas import MAX_ID, UserCreate, UserFilters, UserOut, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_user")]
ITEM_RESPONSES = problem_responses(401, 404, 422)
CHANGE_RESPONSES = problem_responses(
    401,
    403,
    404,
    409,
    422,
    s403="Readable, but the change is not allowed (no right, or the role outranks you)",
)


def user_filters(
    email_prefix: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Start of the email")
    ] = None,
    id_role: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    active: Annotated[
        bool | None, Query(description="true: active accounts only; false: deactivated only")
    ] = None,
) -> UserFilters:
    return UserFilters(email_prefix=email_prefix, id_role=id_role, active=active)


@router.get(
    "",
    response_model=Page[UserOut],
    responses=problem_responses(401, 422),
    summary="Staff accounts the signed-in user may read",
)
def list_users(
    actor: CurrentActor,
    filters: Annotated[UserFilters, Depends(user_filters)],
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[UserOut]:
    users, next_cursor = service.list_users(actor, filters, page)
    return Page[UserOut](
        items=[UserOut.model_validate(user) for user in users], next_cursor=next_cursor
    )


@router.post(
    "",
    status_code=201,
    response_model=UserOut,
    responses=problem_responses(
        401,
        403,
        409,
        422,
        503,
        s403="No right to create accounts, or the role carries rights you do not hold",
        s409="An account with this email exists",
        s503="Without a password: the invitation email could not be sent; nothing created",
    ),
    summary="Create an account with a password, or email the person a set-password link",
)
def create_user(body: UserCreate, actor: CurrentActor, request: Request) -> UserOut:
    passwords: Passwords = request.app.state.passwords
    mailer: Mailer = request.app.state.mailer
    user = service.create_account(actor, app_settings(request), passwords, mailer, body)
    return UserOut.model_validate(user)


@router.get("/{id_user}", response_model=UserOut, responses=ITEM_RESPONSES)
def get_user(id_user: UserId, actor: CurrentActor) -> UserOut:
    return UserOut.model_validate(service.get_user(actor, id_user))


@router.patch(
    "/{id_user}",
    response_model=UserOut,
    responses=CHANGE_RESPONSES,
    summary="Change name, email or role (a role only if you hold all its rights)",
)
def update_user(id_user: UserId, body: UserUpdate, actor: CurrentActor) -> UserOut:
    user = service.update_account(actor, id_user, body.model_dump(exclude_unset=True))
    return UserOut.model_validate(user)


@router.delete(
    "/{id_user}",
    status_code=409,
    response_class=Response,
    responses=problem_responses(
        401, 403, 404, 409, 422, s409="Accounts are never deleted; deactivate instead"
    ),
    summary="Refused: accounts are deactivated, never deleted",
)
def delete_user(id_user: UserId, actor: CurrentActor) -> Response:
    service.refuse_delete(actor, id_user)


@router.post(
    "/{id_user}/deactivate",
    response_model=UserOut,
    responses=CHANGE_RESPONSES,
    summary="Deactivate an account: it cannot sign in and its sessions end",
)
def deactivate_user(id_user: UserId, actor: CurrentActor) -> UserOut:
    return UserOut.model_validate(service.deactivate_account(actor, id_user))


@router.post(
    "/{id_user}/reactivate",
    response_model=UserOut,
    responses=CHANGE_RESPONSES,
    summary="Let a deactivated account sign in again",
)
def reactivate_user(id_user: UserId, actor: CurrentActor) -> UserOut:
    return UserOut.model_validate(service.reactivate_account(actor, id_user))


@router.post(
    "/{id_user}/unlock",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="Clear a lockout after failed sign-ins",
)
def unlock(id_user: UserId, actor: CurrentActor) -> Response:
    target = service.manageable_account(actor, id_user, "account.unlocked")
    unlock_account(actor.db, id_user=target.id_user, audit=actor.audit)
    return Response(status_code=204)


@router.delete(
    "/{id_user}/sessions",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="End every session of the account",
)
def end_sessions(id_user: UserId, actor: CurrentActor) -> Response:
    ended = service.end_sessions(actor, id_user)
    security_event(
        "sessions.ended", id_user=id_user, ip=actor.info.ip, by_user=actor.id_user, count=ended
    )
    return Response(status_code=204)


@router.delete(
    "/{id_user}/second-factor",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="Reset the account's second factor (a lost device); it sets one up again",
)
def reset_user_second_factor(id_user: UserId, actor: CurrentActor) -> Response:
    target = service.manageable_account(actor, id_user, "second_factor.reset")
    reset_second_factor(actor.db, id_user=target.id_user, audit=actor.audit)
    return Response(status_code=204)
