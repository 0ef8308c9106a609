"""Staff accounts: list and search, create (with an invitation or a first password),
change the role, deactivate and reactivate, unlock, end sessions, reset the second
factor (SPEC sections 4, 5 and 11). Every change goes through the users service's
may-manage rule, as the API's does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from starlette.responses import Response

from goalpath.auth import second_factor
from goalpath.auth.deps import app_settings
from goalpath.auth.events import security_event
from goalpath.auth.lockout import unlock_account
from goalpath.auth.service import reset_second_factor
from goalpath.authz.actor import Actor
from goalpath.models import (
    User,
)
from goalpath.programs import service as programs
from goalpath.student_access import service as student_access
from goalpath.users import service as users
from goalpath.users.schemas import UserCreate, UserFilters, UserUpdate
from goalpath.web import forms
from goalpath.web.admin import (
    STAFF,
    PageForbidden,
    grantable_roles,
    readable_roles,
    require_section,
    role_label,
    section_page,
)
from goalpath.web.forms import FormInvalid, FormState, FormText
from goalpath.web.pages import PageActor, page_router

router = page_router()

# A staff member's page lists this many of their students.
CASELOAD_SHOWN = 200


@dataclass(frozen=True)
class StaffSearch:
    email: str = ""
    role: str = ""
    status: str = ""

    def filters(self, now: datetime) -> UserFilters:
        active = {"active": True, "deactivated": False}.get(self.status)
        return UserFilters(
            email_prefix=self.email.strip() or None,
            id_role=forms.record_id(self.role),
            active=active,
            locked_at=now if self.status == "locked" else None,
        )


def _check_search(search: StaffSearch) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(search.email) > 255 or "\x00" in search.email:
        errors["email"] = ["Enter at most 255 characters of an email address."]
    if search.role and forms.record_id(search.role) is None:
        errors["role"] = ["Choose a role from the list."]
    if search.status not in ("", "active", "deactivated", "locked"):
        errors["status"] = ["Choose a status from the list."]
    return errors


@router.get(STAFF.path)
def users_page(
    request: Request,
    actor: PageActor,
    email: str = "",
    role: str = "",
    status: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    require_section(actor, STAFF)
    search = StaffSearch(email=email, role=role, status=status)
    errors = _check_search(search)
    found: list[User] = []
    next_cursor = None
    if not errors:
        found, next_cursor = users.list_users(
            actor, search.filters(actor.info.now), forms.page_request(limit, cursor)
        )
    role_names = {item.id_role: role_label(item.name) for item in readable_roles(actor)}
    return section_page(
        request,
        actor,
        "admin/users.html",
        {
            "users": found,
            "search": search,
            "role_names": role_names,
            "next_link": forms.next_link(request, next_cursor),
            "may_create": actor.grants.allows("user", "create"),
            "errors": errors,
        },
        422 if errors else 200,
    )


def _password_rules(request: Request) -> str:
    settings = app_settings(request)
    return (
        f"{settings.password_min_length} to {settings.password_max_length} characters. "
        "Common passwords and the person's name or email are not accepted."
    )


def _new_user_page(request: Request, actor: Actor, state: FormState | None = None) -> Response:
    require_section(actor, STAFF)
    if not actor.grants.allows("user", "create"):
        actor.authz.deny("create", "user", None, None, "forbidden")
        raise PageForbidden("Your role cannot create staff accounts.")
    state = state or FormState(
        {"name": "", "email": "", "id_role": "", "setup": "invite"}, {}, status_code=200
    )
    return section_page(
        request,
        actor,
        "admin/user_new.html",
        {
            "roles": grantable_roles(actor),
            "role_label": role_label,
            "password_rules": _password_rules(request),
            **state.context(),
        },
        state.status_code,
    )


@router.get(STAFF.path + "/new")
def new_user_page(request: Request, actor: PageActor) -> Response:
    return _new_user_page(request, actor)


_NEW_USER_FIELDS = {
    "name": forms.FieldSpec("name", "Name", "Enter the person's name."),
    "email": forms.FieldSpec("email", "Email address", "Enter their email address."),
    "id_role": forms.FieldSpec("id_role", "Role", "Choose a role."),
    "setup": forms.FieldSpec(
        "setup-invite", "Password", "Choose how the person sets their password."
    ),
    "password": forms.FieldSpec(
        "password", "Initial password", "Enter an initial password, or email an invitation."
    ),
}
_ROLE_FIELDS = {"id_role": forms.FieldSpec("id_role", "Role", "Choose a role.")}


@router.post(STAFF.path)
def create_user(
    request: Request,
    actor: PageActor,
    name: FormText = "",
    email: FormText = "",
    id_role: FormText = "",
    setup: FormText = "",
    password: FormText = "",
) -> Response:
    require_section(actor, STAFF)
    # The password is never sent back into the form.
    values = {"name": name, "email": email, "id_role": id_role, "setup": setup}

    def change() -> tuple[str, str]:
        if setup not in ("invite", "password"):
            raise FormInvalid({"setup-invite": [_NEW_USER_FIELDS["setup"].empty]})
        if setup == "password" and not password:
            raise FormInvalid({"password": [_NEW_USER_FIELDS["password"].empty]})
        data = {
            "name": name,
            "email": email,
            "id_role": forms.required_choice(id_role, _NEW_USER_FIELDS["id_role"]),
            "password": password if setup == "password" else None,
        }
        raw = {**values, "password": password}
        body = forms.validated(UserCreate, _NEW_USER_FIELDS, raw, data)
        state = request.app.state
        user = users.create_account(
            actor, app_settings(request), state.passwords, state.mailer, body
        )
        message = f"The account for {user.name} has been created."
        if body.password is None:
            message += f" An invitation to choose a password was emailed to {user.email}."
        return message, f"{STAFF.path}/{user.id_user}"

    again = forms.showing(_new_user_page, request, actor)

    return forms.submit(request, actor.db, FormState(values), _NEW_USER_FIELDS, change, again)


def _user_page(
    request: Request, actor: Actor, id_user: int, state: FormState | None = None
) -> Response:
    require_section(actor, STAFF)
    user = users.get_user(actor, id_user)
    role_names = {item.id_role: role_label(item.name) for item in readable_roles(actor)}
    state = state or FormState({"id_role": str(user.id_role or "")}, {}, status_code=200)
    locked = user.locked_until is not None and user.locked_until > actor.info.now
    return section_page(
        request,
        actor,
        "admin/user.html",
        {
            "account": user,
            "roles": grantable_roles(actor, keep=user.id_role),
            "role_names": role_names,
            "role_label": role_label,
            "locked": locked,
            "second_factor_on": second_factor.enrolled(actor.db, user.id_user),
            "memberships": programs.programs_of_member(actor, user.id_user),
            "caseload": student_access.caseload_of(actor, user.id_user, CASELOAD_SHOWN),
            "is_self": user.id_user == actor.id_user,
            "may_update": actor.grants.allows("user", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(STAFF.path + "/{id_user}")
def user_page(request: Request, actor: PageActor, id_user: str) -> Response:
    return _user_page(request, actor, forms.path_id(id_user))


def _account_change(
    request: Request,
    actor: Actor,
    id_user: str,
    change: Callable[[int], str],
    values: dict[str, str] | None = None,
) -> Response:
    user_id = forms.path_id(id_user)
    require_section(actor, STAFF)

    again = forms.showing(_user_page, request, actor, user_id)

    location = f"{STAFF.path}/{user_id}"
    fields = _ROLE_FIELDS if values else None
    shown = values or {"id_role": ""}
    return forms.act(request, actor.db, lambda: change(user_id), location, again, shown, fields)


@router.post(STAFF.path + "/{id_user}/role")
def change_role(
    request: Request, actor: PageActor, id_user: str, id_role: FormText = ""
) -> Response:
    def change(user_id: int) -> str:
        role_id = forms.required_choice(id_role, _ROLE_FIELDS["id_role"])
        body = UserUpdate(id_role=role_id)
        user = users.update_account(actor, user_id, body.model_dump(exclude_unset=True))
        return f"{user.name}'s role has been changed."

    return _account_change(request, actor, id_user, change, {"id_role": id_role})


@router.post(STAFF.path + "/{id_user}/deactivate")
def deactivate_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        user = users.deactivate_account(actor, user_id)
        return f"{user.name}'s account is deactivated and its sessions have ended."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/reactivate")
def reactivate_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        user = users.reactivate_account(actor, user_id)
        return f"{user.name}'s account is active again."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/unlock")
def unlock_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        # As POST /api/v1/users/{id}/unlock does it.
        target: User = actor.authz.fetch(User, user_id, users.RESOURCE, "update")
        unlock_account(actor.db, id_user=target.id_user, audit=actor.audit)
        return f"{target.name}'s account is unlocked."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/end-sessions")
def end_user_sessions(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        ended = users.end_sessions(actor, user_id)
        security_event(
            "sessions.ended", id_user=user_id, ip=actor.info.ip, by_user=actor.id_user, count=ended
        )
        return f"{ended} session(s) ended."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/second-factor/reset")
def reset_user_second_factor(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        # As DELETE /api/v1/users/{id}/second-factor does it.
        target = users.manageable_account(actor, user_id, "second_factor.reset")
        reset_second_factor(actor.db, id_user=target.id_user, audit=actor.audit)
        return (
            f"{target.name}'s second factor has been reset. They set up an authenticator app "
            "again when they next sign in, if their role requires one."
        )

    return _account_change(request, actor, id_user, change)
