"""Administration pages: districts, programs and their members, staff accounts, roles,
caseload assignments and the audit trail (SPEC sections 1, 5 and 6).

Every page acts through an `Actor` built exactly as the API builds one and calls the
API's own service functions, validating forms with the API's input schemas: a page
can never show or change more than the API would for the same person. A page is
offered to the roles whose rights it serves (`SECTIONS`); the records and the changes
on it are still decided, row by row, by `authz` inside the services.

A refused form comes back with its message and the fields as typed, under the
refusal's 4xx status. The transaction is rolled back first: where the API would have
raised through the request's session scope, a page answers normally, and the session
scope would otherwise commit what the service had flushed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ParamSpec

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Bundle
from starlette.responses import Response

from goalpath.audit import api as audit_api
from goalpath.audit.queries import AuditFilters, check_id_cursor
from goalpath.auth import second_factor
from goalpath.auth.deps import app_settings
from goalpath.auth.events import security_event
from goalpath.auth.service import reset_second_factor, unlock_account
from goalpath.authz.actor import Actor
from goalpath.authz.roles import RESOURCES, SCOPES
from goalpath.districts import service as districts
from goalpath.districts.schemas import DistrictInput, DistrictUpdate
from goalpath.errors import GoalpathError, NotFound, ValidationFailed
from goalpath.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest, keyset_page
from goalpath.models import AuditEvent, Program, Role, RolePermission, Student, User
from goalpath.programs import service as programs
from goalpath.programs.schemas import MembershipInput, MembershipUpdate, ProgramInput
from goalpath.roles import service as roles
from goalpath.roles.schemas import PermissionFilters, RoleUpdate
from goalpath.student_access import service as student_access
from goalpath.student_access.schemas import MAX_BULK_STUDENTS, BulkStudentAccessInput
from goalpath.users import service as users
from goalpath.users.schemas import UserCreate, UserFilters, UserUpdate
from goalpath.web.pages import ROLE_LABELS, PageActor, redirect_with_flash, render

router = APIRouter(include_in_schema=False)

ADMIN_PATH = "/admin"
AUDIT_PATH = "/audit-events"
MAX_ID = 2**31 - 1
# Longer than any cursor this server issues (the API allows 512 characters).
MAX_CURSOR = 512
MAX_IDENTIFIER = 50
ACTIONS = ("create", "read", "update", "delete", "read_sensitive")
OUTCOMES = ("allowed", "denied", "failed")
_NAME_PATTERN = re.compile(audit_api.NAME_PATTERN)
_IDENTIFIER_SEPARATORS = re.compile(r"[\s,;]+")

FormText = Annotated[str, Form()]
Endpoint = ParamSpec("Endpoint")


# -- sections -----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    label: str
    path: str
    # The right (at this scope or wider) the page serves; without it the page is 403.
    needs: tuple[str, str, str]
    summary: str


DISTRICTS = Section(
    "Districts",
    f"{ADMIN_PATH}/districts",
    ("school_district", "read", "district"),
    "School districts and their contact addresses.",
)
PROGRAMS = Section(
    "Programs",
    f"{ADMIN_PATH}/programs",
    ("program_membership", "read", "program"),
    "Programs and the staff who are members of them.",
)
STAFF = Section(
    "Staff",
    f"{ADMIN_PATH}/users",
    ("user", "read", "district"),
    "Staff accounts: create, change role, deactivate, unlock, end sessions.",
)
ROLES = Section(
    "Roles",
    f"{ADMIN_PATH}/roles",
    ("role", "read", "global"),
    "Roles and the permissions each one bundles.",
)
CASELOADS = Section(
    "Caseloads",
    f"{ADMIN_PATH}/assignments",
    ("student_access", "create", "program"),
    "Assign a staff member to several students of a program at once.",
)
AUDIT = Section(
    "Audit trail",
    AUDIT_PATH,
    ("audit_event", "read", "district"),
    "Who accessed which student's records, and the CSV export of it.",
)
SECTIONS = (DISTRICTS, PROGRAMS, STAFF, ROLES, CASELOADS, AUDIT)


def sections_for(actor: Actor) -> list[Section]:
    return [section for section in SECTIONS if actor.grants.holds(*section.needs)]


def require_section(actor: Actor, section: Section) -> None:
    """403 (audited) for a person whose role does not serve this page."""
    if not actor.grants.holds(*section.needs):
        resource, action, _scope = section.needs
        actor.authz.deny(action, resource, None, None, "page_not_in_role")
        raise PageForbidden(f"The {section.label} page is not part of your role.")


class PageForbidden(GoalpathError):
    status_code = 403
    title = "Forbidden"


# -- answers ------------------------------------------------------------------------

_PROBLEM_HEADINGS = {
    403: "You do not have access to this",
    404: "Page not found",
    409: "That change could not be made",
    422: "That request could not be used",
    503: "Try again later",
}


def problem_page(request: Request, error: GoalpathError) -> Response:
    detail = error.detail
    if error.status_code == 404:
        # The same words whether the record is absent or out of scope (SPEC section 5).
        detail = "There is nothing here, or it is not a record you have access to."
    return render(
        request,
        "admin/problem.html",
        {
            "heading": _PROBLEM_HEADINGS.get(error.status_code, "Something went wrong"),
            "detail": detail,
            "status": error.status_code,
        },
        error.status_code,
    )


def shown_as_page(
    endpoint: Callable[Endpoint, Response],
) -> Callable[Endpoint, Response]:
    """Domain errors become a page with their status, after a rollback (module doc)."""

    @functools.wraps(endpoint)
    def answer(*args: Endpoint.args, **kwargs: Endpoint.kwargs) -> Response:
        try:
            return endpoint(*args, **kwargs)
        except GoalpathError as error:
            actor = kwargs.get("actor")
            if isinstance(actor, Actor):
                actor.db.rollback()
            request = kwargs["request"]
            assert isinstance(request, Request)
            return problem_page(request, error)

    return answer


@dataclass
class FormState:
    """What a re-rendered form needs: the values as typed and the messages."""

    values: dict[str, str]
    errors: dict[str, list[str]]
    form_error: str | None = None
    status_code: int = 422

    def context(self) -> dict[str, Any]:
        return {"form": self.values, "errors": self.errors, "form_error": self.form_error}


def _message(text: str) -> str:
    text = text.removeprefix("Value error, ").strip()
    if not text:
        return "This value cannot be used."
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def schema_errors(
    error: ValidationError, values: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, list[str]]:
    """Plain messages for the fields an API input schema refused, keyed by form field."""
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        if field not in labels:
            field = next(iter(labels))
        if field in errors:
            continue
        if not values.get(field, "").strip():
            errors[field] = [f"Enter {labels[field]}."]
        else:
            errors[field] = [_message(str(problem.get("msg", "")))]
    return errors


def refusal(error: GoalpathError, values: dict[str, str], fields: Sequence[str] = ()) -> FormState:
    """A service's refusal, with its per-field messages under the form's fields."""
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        field = str(item.get("field", ""))
        if field in fields:
            errors.setdefault(field, []).append(_message(str(item.get("message", ""))))
    return FormState(values, errors, error.detail, error.status_code)


def invalid(values: dict[str, str], field: str, message: str) -> FormState:
    return FormState(values, {field: [message]}, None, 422)


def record_id(text: str) -> int | None:
    """A positive 32-bit id written in ASCII digits, or None."""
    text = text.strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def path_id(text: str) -> int:
    """An id from the URL: anything but a record id is a page that does not exist."""
    value = record_id(text)
    if value is None:
        raise NotFound("Not found.")
    return value


def page_request(limit: str, cursor: str) -> PageRequest:
    size = DEFAULT_LIMIT
    if limit:
        parsed = record_id(limit)
        if parsed is None or parsed > MAX_LIMIT:
            raise ValidationFailed(f"Show 1 to {MAX_LIMIT} rows a page.")
        size = parsed
    if len(cursor) > MAX_CURSOR:
        raise ValidationFailed("The page link is not valid; start again from the first page.")
    return PageRequest(limit=size, cursor=cursor or None)


def next_link(request: Request, next_cursor: str | None) -> str | None:
    """This page's address with the cursor of the next page (a local path)."""
    if next_cursor is None:
        return None
    url = request.url.include_query_params(cursor=next_cursor)
    return f"{url.path}?{url.query}"


def section_page(
    request: Request,
    actor: Actor,
    template: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {"sections": sections_for(actor), "now": actor.info.now, **context},
        status_code,
    )


def role_label(name: str | None) -> str:
    if name is None:
        return "No role"
    return ROLE_LABELS.get(name, name.replace("_", " ").capitalize())


def readable_roles(actor: Actor) -> list[Role]:
    """Every role the actor may read (none without `role:read`), for names and choices."""
    found, _next = roles.list_roles(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return found


def staff_by_email(actor: Actor, email: str) -> int | None:
    """The account with this email among those the actor may read."""
    normalised = email.strip().lower()
    # PostgreSQL refuses NUL in text: such an address matches nobody, as it must.
    if not normalised or len(normalised) > 320 or "\x00" in normalised:
        return None
    statement = actor.authz.scoped(select(User.id_user).where(User.email == normalised), "user")
    found: int | None = actor.db.scalar(statement)
    return found


# -- index --------------------------------------------------------------------------


@router.get(ADMIN_PATH)
@shown_as_page
def admin_index(request: Request, actor: PageActor) -> Response:
    available = sections_for(actor)
    if not available:
        actor.authz.deny("read", "administration", None, None, "page_not_in_role")
        raise PageForbidden("Your role has no administration pages.")
    return section_page(request, actor, "admin/index.html", {})


# -- districts ----------------------------------------------------------------------


def _districts_page(
    request: Request, actor: Actor, page: PageRequest, state: FormState | None = None
) -> Response:
    require_section(actor, DISTRICTS)
    items, next_cursor = districts.list_districts(actor, page)
    state = state or FormState({"name": "", "contact_email": ""}, {}, status_code=200)
    return section_page(
        request,
        actor,
        "admin/districts.html",
        {
            "districts": items,
            "next_link": next_link(request, next_cursor),
            "may_create": actor.grants.holds("school_district", "create", "global"),
            "may_update": actor.grants.allows("school_district", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(DISTRICTS.path)
@shown_as_page
def districts_page(
    request: Request, actor: PageActor, limit: str = "", cursor: str = ""
) -> Response:
    return _districts_page(request, actor, page_request(limit, cursor))


@router.post(DISTRICTS.path)
@shown_as_page
def create_district(
    request: Request, actor: PageActor, name: FormText = "", contact_email: FormText = ""
) -> Response:
    require_section(actor, DISTRICTS)
    values = {"name": name, "contact_email": contact_email}
    first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
    try:
        body = DistrictInput(name=name, contact_email=contact_email.strip() or None)
    except ValidationError as error:
        labels = {"name": "the district's name", "contact_email": "a contact email"}
        state = FormState(values, schema_errors(error, values, labels))
        return _districts_page(request, actor, first_page, state)
    try:
        district = districts.create_district(actor, body)
    except GoalpathError as error:
        actor.db.rollback()
        state = refusal(error, values, ("name", "contact_email"))
        return _districts_page(request, actor, first_page, state)
    return redirect_with_flash(
        request, DISTRICTS.path, f"The district {district.name} has been created."
    )


def _district_page(
    request: Request, actor: Actor, id_school_district: int, state: FormState | None = None
) -> Response:
    require_section(actor, DISTRICTS)
    district = districts.get_district(actor, id_school_district)
    state = state or FormState(
        {"name": district.name or "", "contact_email": district.contact_email or ""},
        {},
        status_code=200,
    )
    return section_page(
        request,
        actor,
        "admin/district.html",
        {
            "district": district,
            "may_update": actor.grants.allows("school_district", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(DISTRICTS.path + "/{id_school_district}")
@shown_as_page
def district_page(request: Request, actor: PageActor, id_school_district: str) -> Response:
    return _district_page(request, actor, path_id(id_school_district))


@router.post(DISTRICTS.path + "/{id_school_district}")
@shown_as_page
def update_district(
    request: Request,
    actor: PageActor,
    id_school_district: str,
    name: FormText = "",
    contact_email: FormText = "",
) -> Response:
    district_id = path_id(id_school_district)
    require_section(actor, DISTRICTS)
    values = {"name": name, "contact_email": contact_email}
    try:
        body = DistrictUpdate(name=name, contact_email=contact_email.strip() or None)
    except ValidationError as error:
        labels = {"name": "the district's name", "contact_email": "a contact email"}
        state = FormState(values, schema_errors(error, values, labels))
        return _district_page(request, actor, district_id, state)
    try:
        district = districts.update_district(
            actor, district_id, body.model_dump(exclude_unset=True)
        )
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        state = refusal(error, values, ("name", "contact_email"))
        return _district_page(request, actor, district_id, state)
    return redirect_with_flash(
        request,
        f"{DISTRICTS.path}/{district_id}",
        f"The district {district.name} has been saved.",
    )


# -- programs -----------------------------------------------------------------------


def _district_names(actor: Actor) -> dict[int, str]:
    found, _next = districts.list_districts(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return {district.id_school_district: district.name or "" for district in found}


def _programs_page(
    request: Request, actor: Actor, page: PageRequest, state: FormState | None = None
) -> Response:
    require_section(actor, PROGRAMS)
    items, next_cursor = programs.list_programs(actor, page)
    state = state or FormState(
        {"id_school_district": "", "name": "", "description": ""}, {}, status_code=200
    )
    return section_page(
        request,
        actor,
        "admin/programs.html",
        {
            "programs": items,
            "district_names": _district_names(actor),
            "next_link": next_link(request, next_cursor),
            "may_create": actor.grants.allows("program", "create"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(PROGRAMS.path)
@shown_as_page
def programs_page(
    request: Request, actor: PageActor, limit: str = "", cursor: str = ""
) -> Response:
    return _programs_page(request, actor, page_request(limit, cursor))


@router.post(PROGRAMS.path)
@shown_as_page
def create_program(
    request: Request,
    actor: PageActor,
    id_school_district: FormText = "",
    name: FormText = "",
    description: FormText = "",
) -> Response:
    require_section(actor, PROGRAMS)
    values = {"id_school_district": id_school_district, "name": name, "description": description}
    first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
    district_id = record_id(id_school_district)
    if district_id is None:
        state = invalid(values, "id_school_district", "Choose the program's district.")
        return _programs_page(request, actor, first_page, state)
    try:
        body = ProgramInput(
            id_school_district=district_id, name=name, description=description or None
        )
    except ValidationError as error:
        labels = {
            "name": "the program's name",
            "description": "a description",
            "id_school_district": "the program's district",
        }
        state = FormState(values, schema_errors(error, values, labels))
        return _programs_page(request, actor, first_page, state)
    try:
        program = programs.create_program(actor, body)
    except GoalpathError as error:
        actor.db.rollback()
        state = refusal(error, values, ("id_school_district", "name", "description"))
        return _programs_page(request, actor, first_page, state)
    return redirect_with_flash(
        request,
        f"{PROGRAMS.path}/{program.id_program}",
        f"The program {program.name} has been created.",
    )


def _program_page(
    request: Request,
    actor: Actor,
    id_program: int,
    page: PageRequest,
    state: FormState | None = None,
) -> Response:
    require_section(actor, PROGRAMS)
    program = programs.get_program(actor, id_program)
    members, next_cursor = programs.list_members(actor, id_program, page)
    state = state or FormState({"email": "", "is_primary": ""}, {}, status_code=200)
    return section_page(
        request,
        actor,
        "admin/program.html",
        {
            "program": program,
            "district_names": _district_names(actor),
            "members": members,
            "next_link": next_link(request, next_cursor),
            "may_add": actor.grants.allows("program_membership", "create"),
            "may_update": actor.grants.allows("program_membership", "update"),
            "may_remove": actor.grants.allows("program_membership", "delete"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(PROGRAMS.path + "/{id_program}")
@shown_as_page
def program_page(
    request: Request, actor: PageActor, id_program: str, limit: str = "", cursor: str = ""
) -> Response:
    return _program_page(request, actor, path_id(id_program), page_request(limit, cursor))


@router.post(PROGRAMS.path + "/{id_program}/members")
@shown_as_page
def add_member(
    request: Request,
    actor: PageActor,
    id_program: str,
    email: FormText = "",
    is_primary: FormText = "",
) -> Response:
    program_id = path_id(id_program)
    require_section(actor, PROGRAMS)
    values = {"email": email, "is_primary": is_primary}
    first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
    if not email.strip():
        state = invalid(values, "email", "Enter the staff member's email address.")
        return _program_page(request, actor, program_id, first_page, state)
    # The program first: outside the actor's scope the page is a 404 whatever was typed.
    programs.get_program(actor, program_id)
    if not actor.grants.allows(programs.MEMBERSHIP, "create"):
        # Refused before the email is looked up, as the API refuses before the user.
        actor.authz.deny("create", programs.MEMBERSHIP, None, None, "forbidden")
        raise PageForbidden("Your role cannot add members to programs.")
    id_user = staff_by_email(actor, email)
    if id_user is None:
        state = invalid(values, "email", "No staff account you can see has this email address.")
        state.status_code = 404
        return _program_page(request, actor, program_id, first_page, state)
    try:
        body = MembershipInput(id_user=id_user, is_primary=is_primary == "yes", status="active")
        member = programs.create_member(actor, program_id, body)
    except GoalpathError as error:
        actor.db.rollback()
        state = refusal(error, values, ("email",))
        return _program_page(request, actor, program_id, first_page, state)
    return redirect_with_flash(
        request,
        f"{PROGRAMS.path}/{program_id}",
        f"{member.name or member.email} is now a member of the program.",
    )


def _member_change(
    request: Request,
    actor: Actor,
    id_program: str,
    id_user_program: str,
    change: Callable[[int, int], str],
) -> Response:
    program_id = path_id(id_program)
    membership_id = path_id(id_user_program)
    require_section(actor, PROGRAMS)
    try:
        message = change(program_id, membership_id)
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        state = FormState({"email": "", "is_primary": ""}, {}, error.detail, error.status_code)
        first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
        return _program_page(request, actor, program_id, first_page, state)
    return redirect_with_flash(request, f"{PROGRAMS.path}/{program_id}", message)


@router.post(PROGRAMS.path + "/{id_program}/members/{id_user_program}/status")
@shown_as_page
def change_member_status(
    request: Request,
    actor: PageActor,
    id_program: str,
    id_user_program: str,
    status: FormText = "",
) -> Response:
    def change(program_id: int, membership_id: int) -> str:
        try:
            body = MembershipUpdate(status=status)  # type: ignore[arg-type]
        except ValidationError:
            raise ValidationFailed("Choose active or inactive.") from None
        member = programs.update_member(
            actor, program_id, membership_id, body.model_dump(exclude_unset=True)
        )
        who = member.name or member.email or "The member"
        if member.status == "active":
            return f"{who}'s membership is active: it grants access again."
        return f"{who}'s membership is inactive: it no longer grants access."

    return _member_change(request, actor, id_program, id_user_program, change)


@router.post(PROGRAMS.path + "/{id_program}/members/{id_user_program}/remove")
@shown_as_page
def remove_member(
    request: Request, actor: PageActor, id_program: str, id_user_program: str
) -> Response:
    def change(program_id: int, membership_id: int) -> str:
        programs.delete_member(actor, program_id, membership_id)
        return "The member has been removed from the program."

    return _member_change(request, actor, id_program, id_user_program, change)


# -- staff accounts -----------------------------------------------------------------


@dataclass(frozen=True)
class StaffSearch:
    email: str = ""
    role: str = ""
    status: str = ""

    def filters(self) -> UserFilters:
        active = {"active": True, "deactivated": False}.get(self.status)
        return UserFilters(
            email_prefix=self.email.strip() or None,
            id_role=record_id(self.role),
            active=active,
        )


def _check_search(search: StaffSearch) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if len(search.email) > 255 or "\x00" in search.email:
        errors["email"] = ["Enter at most 255 characters of an email address."]
    if search.role and record_id(search.role) is None:
        errors["role"] = ["Choose a role from the list."]
    if search.status not in ("", "active", "deactivated"):
        errors["status"] = ["Choose a status from the list."]
    return errors


@router.get(STAFF.path)
@shown_as_page
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
        found, next_cursor = users.list_users(actor, search.filters(), page_request(limit, cursor))
    role_names = {item.id_role: role_label(item.name) for item in readable_roles(actor)}
    return section_page(
        request,
        actor,
        "admin/users.html",
        {
            "users": found,
            "search": search,
            "role_names": role_names,
            "next_link": next_link(request, next_cursor),
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
            "roles": readable_roles(actor),
            "role_label": role_label,
            "password_rules": _password_rules(request),
            **state.context(),
        },
        state.status_code,
    )


@router.get(STAFF.path + "/new")
@shown_as_page
def new_user_page(request: Request, actor: PageActor) -> Response:
    return _new_user_page(request, actor)


@router.post(STAFF.path)
@shown_as_page
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
    if setup not in ("invite", "password"):
        state = invalid(values, "setup-invite", "Choose how the person sets their password.")
        return _new_user_page(request, actor, state)
    role_id = record_id(id_role)
    if role_id is None:
        return _new_user_page(request, actor, invalid(values, "id_role", "Choose a role."))
    if setup == "password" and not password:
        state = invalid(values, "password", "Enter an initial password, or email an invitation.")
        return _new_user_page(request, actor, state)
    try:
        body = UserCreate(
            email=email,
            name=name,
            id_role=role_id,
            password=password if setup == "password" else None,
        )
    except ValidationError as error:
        labels = {
            "name": "the person's name",
            "email": "their email address",
            "id_role": "a role",
            "password": "an initial password",
        }
        state = FormState(values, schema_errors(error, {**values, "password": password}, labels))
        return _new_user_page(request, actor, state)
    try:
        user = users.create_account(
            actor,
            app_settings(request),
            request.app.state.passwords,
            request.app.state.mailer,
            body,
        )
    except GoalpathError as error:
        actor.db.rollback()
        state = refusal(error, values, ("name", "email", "id_role", "password"))
        return _new_user_page(request, actor, state)
    message = f"The account for {user.name} has been created."
    if body.password is None:
        message += f" An invitation to choose a password was emailed to {user.email}."
    return redirect_with_flash(request, f"{STAFF.path}/{user.id_user}", message)


def _user_page(
    request: Request, actor: Actor, id_user: int, state: FormState | None = None
) -> Response:
    require_section(actor, STAFF)
    user = users.get_user(actor, id_user)
    available = readable_roles(actor)
    role_names = {item.id_role: role_label(item.name) for item in available}
    state = state or FormState({"id_role": str(user.id_role or "")}, {}, status_code=200)
    locked = user.locked_until is not None and user.locked_until > actor.info.now
    return section_page(
        request,
        actor,
        "admin/user.html",
        {
            "account": user,
            "roles": available,
            "role_names": role_names,
            "role_label": role_label,
            "locked": locked,
            "second_factor_on": second_factor.enrolled(actor.db, user.id_user),
            "is_self": user.id_user == actor.id_user,
            "may_update": actor.grants.allows("user", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(STAFF.path + "/{id_user}")
@shown_as_page
def user_page(request: Request, actor: PageActor, id_user: str) -> Response:
    return _user_page(request, actor, path_id(id_user))


def _account_change(
    request: Request,
    actor: Actor,
    id_user: str,
    change: Callable[[int], str],
    values: dict[str, str] | None = None,
) -> Response:
    user_id = path_id(id_user)
    require_section(actor, STAFF)
    try:
        message = change(user_id)
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        current = values or {"id_role": ""}
        return _user_page(request, actor, user_id, refusal(error, current, ("id_role",)))
    return redirect_with_flash(request, f"{STAFF.path}/{user_id}", message)


@router.post(STAFF.path + "/{id_user}/role")
@shown_as_page
def change_role(
    request: Request, actor: PageActor, id_user: str, id_role: FormText = ""
) -> Response:
    def change(user_id: int) -> str:
        role_id = record_id(id_role)
        if role_id is None:
            raise ValidationFailed(
                "Choose a role.", errors=[{"field": "id_role", "message": "Choose a role."}]
            )
        body = UserUpdate(id_role=role_id)
        user = users.update_account(actor, user_id, body.model_dump(exclude_unset=True))
        return f"{user.name}'s role has been changed."

    return _account_change(request, actor, id_user, change, {"id_role": id_role})


@router.post(STAFF.path + "/{id_user}/deactivate")
@shown_as_page
def deactivate_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        user = users.deactivate_account(actor, user_id)
        return f"{user.name}'s account is deactivated and its sessions have ended."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/reactivate")
@shown_as_page
def reactivate_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        user = users.reactivate_account(actor, user_id)
        return f"{user.name}'s account is active again."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/unlock")
@shown_as_page
def unlock_user(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        # As POST /api/v1/users/{id}/unlock does it.
        target: User = actor.authz.fetch(User, user_id, users.RESOURCE, "update")
        unlock_account(actor.db, id_user=target.id_user, audit=actor.audit)
        return f"{target.name}'s account is unlocked."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/end-sessions")
@shown_as_page
def end_user_sessions(request: Request, actor: PageActor, id_user: str) -> Response:
    def change(user_id: int) -> str:
        ended = users.end_sessions(actor, user_id)
        security_event(
            "sessions.ended", id_user=user_id, ip=actor.info.ip, by_user=actor.id_user, count=ended
        )
        return f"{ended} session(s) ended."

    return _account_change(request, actor, id_user, change)


@router.post(STAFF.path + "/{id_user}/second-factor/reset")
@shown_as_page
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


# -- roles --------------------------------------------------------------------------


@router.get(ROLES.path)
@shown_as_page
def roles_page(request: Request, actor: PageActor, limit: str = "", cursor: str = "") -> Response:
    require_section(actor, ROLES)
    items, next_cursor = roles.list_roles(actor, page_request(limit, cursor))
    # One grouped query for the page's counts; role rights are global, so a reader of
    # roles reads every link (roles.service).
    counts = dict(
        actor.db.execute(
            select(RolePermission.id_role, func.count())
            .where(RolePermission.id_role.in_([item.id_role for item in items]))
            .group_by(RolePermission.id_role)
        ).all()
    )
    holders = dict(
        actor.db.execute(
            select(User.id_role, func.count())
            .where(User.id_role.in_([item.id_role for item in items]), actor.authz.readable("user"))
            .group_by(User.id_role)
        ).all()
    )
    return section_page(
        request,
        actor,
        "admin/roles.html",
        {
            "roles": items,
            "counts": counts,
            "holders": holders,
            "role_label": role_label,
            "next_link": next_link(request, next_cursor),
        },
    )


def _role_page(
    request: Request,
    actor: Actor,
    id_role: int,
    page: PageRequest,
    state: FormState | None = None,
) -> Response:
    require_section(actor, ROLES)
    role = roles.get_role(actor, id_role)
    permissions, next_cursor = roles.role_permissions(actor, id_role, page)
    state = state or FormState({"resource": "", "action": "", "scope": ""}, {}, status_code=200)
    return section_page(
        request,
        actor,
        "admin/role.html",
        {
            "role": role,
            "role_label": role_label,
            "permissions": permissions,
            "next_link": next_link(request, next_cursor),
            "may_update": actor.grants.allows("role", "update"),
            "is_own_role": actor.grants.id_role == id_role,
            "resources": RESOURCES,
            "actions": ACTIONS,
            "scopes": SCOPES,
            **state.context(),
        },
        state.status_code,
    )


@router.get(ROLES.path + "/{id_role}")
@shown_as_page
def role_page(
    request: Request, actor: PageActor, id_role: str, limit: str = "", cursor: str = ""
) -> Response:
    return _role_page(request, actor, path_id(id_role), page_request(limit, cursor))


@router.post(ROLES.path + "/{id_role}/permissions")
@shown_as_page
def add_permission(
    request: Request,
    actor: PageActor,
    id_role: str,
    resource: FormText = "",
    action: FormText = "",
    scope: FormText = "",
) -> Response:
    role_id = path_id(id_role)
    require_section(actor, ROLES)
    values = {"resource": resource, "action": action, "scope": scope}
    first_page = PageRequest(limit=MAX_LIMIT, cursor=None)
    for field, choices in (("resource", RESOURCES), ("action", ACTIONS), ("scope", SCOPES)):
        if values[field] not in choices:
            state = invalid(values, field, f"Choose a {field} from the list.")
            return _role_page(request, actor, role_id, first_page, state)
    roles.get_role(actor, role_id)
    found, _next = roles.list_permissions(
        actor,
        PermissionFilters(resource=resource, action=action, scope=scope),
        PageRequest(limit=1, cursor=None),
    )
    if not found:
        state = FormState(
            values, {}, f"The catalogue has no permission {resource}:{action}:{scope}.", 422
        )
        return _role_page(request, actor, role_id, first_page, state)
    try:
        permission = roles.add_permission(actor, role_id, found[0].id_permission)
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        return _role_page(request, actor, role_id, first_page, refusal(error, values))
    right = f"{permission.resource}:{permission.action}:{permission.scope}"
    return redirect_with_flash(
        request, f"{ROLES.path}/{role_id}", f"The role now has the permission {right}."
    )


@router.post(ROLES.path + "/{id_role}/second-factor")
@shown_as_page
def set_role_second_factor(
    request: Request, actor: PageActor, id_role: str, requires_second_factor: FormText = ""
) -> Response:
    role_id = path_id(id_role)
    require_section(actor, ROLES)
    first_page = PageRequest(limit=MAX_LIMIT, cursor=None)
    values = {"resource": "", "action": "", "scope": ""}
    if requires_second_factor not in ("yes", "no"):
        state = FormState(values, {}, "Choose whether the role requires a second factor.", 422)
        return _role_page(request, actor, role_id, first_page, state)
    body = RoleUpdate(requires_second_factor=requires_second_factor == "yes")
    try:
        roles.update_role(actor, role_id, body.model_dump(exclude_unset=True))
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        return _role_page(request, actor, role_id, first_page, refusal(error, values))
    message = (
        "Holders of this role now need a second factor; those without one set it up when "
        "they next use Goalpath."
        if body.requires_second_factor
        else "Holders of this role no longer need a second factor; those who have one keep it."
    )
    return redirect_with_flash(request, f"{ROLES.path}/{role_id}", message)


@router.post(ROLES.path + "/{id_role}/permissions/{id_permission}/remove")
@shown_as_page
def remove_permission(
    request: Request, actor: PageActor, id_role: str, id_permission: str
) -> Response:
    role_id = path_id(id_role)
    permission_id = path_id(id_permission)
    require_section(actor, ROLES)
    try:
        roles.remove_permission(actor, role_id, permission_id)
    except GoalpathError as error:
        actor.db.rollback()
        if error.status_code == 404:
            raise
        state = FormState({"resource": "", "action": "", "scope": ""}, {}, error.detail)
        state.status_code = error.status_code
        first_page = PageRequest(limit=MAX_LIMIT, cursor=None)
        return _role_page(request, actor, role_id, first_page, state)
    return redirect_with_flash(
        request, f"{ROLES.path}/{role_id}", "The permission has been removed from the role."
    )


# -- caseload assignments -----------------------------------------------------------


def _readable_programs(actor: Actor) -> list[Program]:
    found, _next = programs.list_programs(actor, PageRequest(limit=MAX_LIMIT, cursor=None))
    return found


def _assignments_page(request: Request, actor: Actor, state: FormState | None = None) -> Response:
    require_section(actor, CASELOADS)
    state = state or FormState(
        {"email": "", "id_program": "", "identifiers": "", "access_level": "write"},
        {},
        status_code=200,
    )
    return section_page(
        request,
        actor,
        "admin/assignments.html",
        {
            "programs": _readable_programs(actor),
            "district_names": _district_names(actor),
            "max_students": MAX_BULK_STUDENTS,
            **state.context(),
        },
        state.status_code,
    )


@router.get(CASELOADS.path)
@shown_as_page
def assignments_page(request: Request, actor: PageActor) -> Response:
    return _assignments_page(request, actor)


def parse_identifiers(text: str) -> list[str]:
    """Identifiers as pasted from a roster: one a line, or separated by commas."""
    return list(dict.fromkeys(part for part in _IDENTIFIER_SEPARATORS.split(text) if part))


@router.post(CASELOADS.path)
@shown_as_page
def assign_caseload(
    request: Request,
    actor: PageActor,
    email: FormText = "",
    id_program: FormText = "",
    identifiers: FormText = "",
    access_level: FormText = "",
) -> Response:
    require_section(actor, CASELOADS)
    values = {
        "email": email,
        "id_program": id_program,
        "identifiers": identifiers,
        "access_level": access_level,
    }
    program_id = record_id(id_program)
    wanted = parse_identifiers(identifiers)
    errors: dict[str, list[str]] = {}
    if not email.strip():
        errors["email"] = ["Enter the staff member's email address."]
    if program_id is None:
        errors["id_program"] = ["Choose the students' program."]
    if not wanted:
        errors["identifiers"] = ["Enter the identifiers of the students to assign."]
    elif len(wanted) > MAX_BULK_STUDENTS:
        errors["identifiers"] = [f"Assign at most {MAX_BULK_STUDENTS} students at a time."]
    elif any(len(item) > MAX_IDENTIFIER or "\x00" in item for item in wanted):
        errors["identifiers"] = [f"An identifier has at most {MAX_IDENTIFIER} characters."]
    if access_level not in ("read", "write"):
        errors["access_level-write"] = ["Choose the access the assignment gives."]
    if errors:
        return _assignments_page(request, actor, FormState(values, errors))
    assert program_id is not None
    try:
        programs.get_program(actor, program_id)
    except NotFound:
        actor.db.rollback()
        state = invalid(values, "id_program", "Choose one of the programs listed.")
        state.status_code = 404
        return _assignments_page(request, actor, state)
    id_user = staff_by_email(actor, email)
    if id_user is None:
        state = invalid(values, "email", "No staff account you can see has this email address.")
        state.status_code = 404
        return _assignments_page(request, actor, state)
    # Only students the actor may read resolve: an identifier outside their scope
    # reads exactly like one that does not exist.
    students = actor.db.scalars(
        actor.authz.scoped(
            select(Student).where(Student.id_program == program_id, Student.identifier.in_(wanted)),
            "student",
        )
    )
    found = {student.identifier or "": student.id_student for student in students}
    missing = [identifier for identifier in wanted if identifier not in found]
    if missing:
        state = invalid(
            values, "identifiers", "Not found in this program: " + ", ".join(missing) + "."
        )
        state.form_error = "Some of these students were not found; nothing was assigned."
        state.status_code = 404
        return _assignments_page(request, actor, state)
    try:
        body = BulkStudentAccessInput(
            id_user=id_user,
            id_students=[found[identifier] for identifier in wanted],
            access_level=access_level,  # type: ignore[arg-type]
        )
        result = student_access.bulk_assign(actor, body)
    except GoalpathError as error:
        actor.db.rollback()
        return _assignments_page(request, actor, refusal(error, values, ("email",)))
    who = (result.created or result.existing)[0].name or email.strip()
    message = f"{who} is now assigned to {len(result.created)} more student(s)"
    if result.existing:
        message += f"; {len(result.existing)} were already assigned and left unchanged"
    return redirect_with_flash(request, CASELOADS.path, message + ".")


# -- audit trail --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditSearch:
    student: str = ""
    user: str = ""
    action: str = ""
    resource: str = ""
    outcome: str = ""
    date_from: str = ""
    date_to: str = ""

    def given(self) -> dict[str, str]:
        return {name: value for name, value in self.__dict__.items() if value}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def audit_filters(actor: Actor, search: AuditSearch) -> tuple[AuditFilters, dict[str, list[str]]]:
    """The API's filters from the page's form: a student by identifier (or Goalpath
    number), a person by email (or number), an action, and whole days in UTC."""
    errors: dict[str, list[str]] = {}
    id_student = id_user = None
    for field in ("student", "user", "action", "resource", "outcome", "date_from", "date_to"):
        if len(getattr(search, field)) > 320 or "\x00" in getattr(search, field):
            errors[field] = ["This value is too long or not valid."]
    if search.student and "student" not in errors:
        matches = list(
            actor.db.scalars(
                actor.authz.scoped(
                    select(Student.id_student)
                    .where(Student.identifier == search.student.strip())
                    .limit(2),
                    "student",
                )
            )
        )
        if len(matches) == 1:
            id_student = matches[0]
        elif len(matches) > 1:
            errors["student"] = [
                "Students of several districts have this identifier; enter the Goalpath number."
            ]
        else:
            id_student = record_id(search.student)
            if id_student is None:
                errors["student"] = ["No student you can see has this identifier."]
    if search.user and "user" not in errors:
        id_user = staff_by_email(actor, search.user) if "@" in search.user else None
        if id_user is None:
            id_user = record_id(search.user)
        if id_user is None:
            errors["user"] = ["No staff account you can see has this email address."]
    for field in ("action", "resource"):
        value = getattr(search, field)
        if value and field not in errors and (len(value) > 50 or not _NAME_PATTERN.match(value)):
            errors[field] = [
                "Use letters, digits, dots, dashes or underscores, such as login.failed."
            ]
    if search.outcome and search.outcome not in OUTCOMES:
        errors["outcome"] = ["Choose an outcome from the list."]
    first = _day(search.date_from) if search.date_from else None
    last = _day(search.date_to) if search.date_to else None
    if search.date_from and first is None and "date_from" not in errors:
        errors["date_from"] = ["Enter a date such as 2026-09-01."]
    if search.date_to and last is None and "date_to" not in errors:
        errors["date_to"] = ["Enter a date such as 2026-09-30."]
    if first and last and first > last:
        errors["date_to"] = ["The last day must not be before the first day."]
    filters = AuditFilters(
        id_student=id_student,
        id_user=id_user,
        action=search.action or None,
        resource=search.resource or None,
        outcome=search.outcome or None,
        occurred_from=_midnight(first) if first else None,
        # The last day is included whole.
        occurred_to=(
            _midnight(last) + timedelta(days=1) - timedelta(microseconds=1)
            if last and last < date.max
            else None
        ),
    )
    return filters, errors


def _describe(details: str | None) -> str:
    """An audit row's details as one readable line (names and ids only, by design)."""
    if not details:
        return ""
    try:
        parsed = json.loads(details)
    except ValueError:
        return details
    if not isinstance(parsed, dict):
        return str(parsed)
    parts = []
    for key, value in sorted(parsed.items()):
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _audit_rows(
    actor: Actor, filters: AuditFilters, page: PageRequest
) -> tuple[list[Any], str | None]:
    """The API's list (the same readable condition and filters), with each row's person
    and student named where the reader may read that account or student: one query."""
    actor.authz.require(audit_api.RESOURCE, "read")
    readable = actor.authz.readable(audit_api.RESOURCE)
    user_visible = actor.authz.readable("user")
    student_visible = actor.authz.readable("student")
    bundle: Bundle[Any] = Bundle(
        "event",
        AuditEvent.id_audit_event,
        AuditEvent.occurred_at,
        AuditEvent.id_user,
        AuditEvent.ip,
        AuditEvent.action,
        AuditEvent.resource,
        AuditEvent.record_id,
        AuditEvent.id_student,
        AuditEvent.outcome,
        AuditEvent.details,
        case((user_visible, User.name), else_=null()).label("user_name"),
        case((student_visible, Student.identifier), else_=null()).label("identifier"),
    )
    statement = (
        select(bundle)
        .select_from(AuditEvent)
        .outerjoin(User, User.id_user == AuditEvent.id_user)
        .outerjoin(Student, Student.id_student == AuditEvent.id_student)
        .where(readable, *filters.conditions())
    )
    check_id_cursor(page)
    return keyset_page(
        actor.db, statement, [AuditEvent.id_audit_event.expression], page, descending=True
    )


@router.get(AUDIT.path)
@shown_as_page
def audit_page(
    request: Request,
    actor: PageActor,
    student: str = "",
    user: str = "",
    action: str = "",
    resource: str = "",
    outcome: str = "",
    date_from: str = "",
    date_to: str = "",
    limit: str = "",
    cursor: str = "",
) -> Response:
    require_section(actor, AUDIT)
    search = AuditSearch(student, user, action, resource, outcome, date_from, date_to)
    filters, errors = audit_filters(actor, search)
    rows: list[Any] = []
    next_cursor = None
    if not errors:
        rows, next_cursor = _audit_rows(actor, filters, page_request(limit, cursor))
    export_query = request.url.remove_query_params(["cursor", "limit"]).query
    return section_page(
        request,
        actor,
        "admin/audit.html",
        {
            "rows": rows,
            "search": search,
            "outcomes": OUTCOMES,
            "describe": _describe,
            "next_link": next_link(request, next_cursor),
            "export_link": AUDIT.path
            + "/export.csv"
            + (f"?{export_query}" if export_query else ""),
            "errors": errors,
        },
        422 if errors else 200,
    )


@router.get(AUDIT.path + "/export.csv")
@shown_as_page
def audit_export(
    request: Request,
    actor: PageActor,
    student: str = "",
    user: str = "",
    action: str = "",
    resource: str = "",
    outcome: str = "",
    date_from: str = "",
    date_to: str = "",
) -> Response:
    """The API's export itself (the same rows, CSV and audit row), from the page's
    filters."""
    require_section(actor, AUDIT)
    search = AuditSearch(student, user, action, resource, outcome, date_from, date_to)
    filters, errors = audit_filters(actor, search)
    if errors:
        message = "; ".join(
            f"{field.replace('_', ' ')}: {text[0]}" for field, text in errors.items()
        )
        raise ValidationFailed("The filters cannot be used: " + message)
    return audit_api.export_audit_events(actor, filters)
