"""Programs and their members, for those who manage them (SPEC sections 1 and 5)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.districts import service as districts
from goalpath.errors import GoalpathError, ValidationFailed
from goalpath.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from goalpath.programs import service as programs
from goalpath.programs.schemas import MembershipInput, MembershipUpdate, ProgramInput
from goalpath.web import forms
from goalpath.web.admin import (
    PROGRAMS,
    PageForbidden,
    require_section,
    section_page,
    staff_by_email,
)
from goalpath.web.forms import FormState, FormText
from goalpath.web.pages import PageActor, page_router, redirect_with_flash

router = page_router()


def district_names(actor: Actor) -> dict[int, str]:
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
            "district_names": district_names(actor),
            "next_link": forms.next_link(request, next_cursor),
            "may_create": actor.grants.allows("program", "create"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(PROGRAMS.path)
def programs_page(
    request: Request, actor: PageActor, limit: str = "", cursor: str = ""
) -> Response:
    return _programs_page(request, actor, forms.page_request(limit, cursor))


@router.post(PROGRAMS.path)
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
    district_id = forms.record_id(id_school_district)
    if district_id is None:
        state = forms.invalid(values, "id_school_district", "Choose the program's district.")
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
        state = FormState(values, forms.schema_errors(error, values, labels))
        return _programs_page(request, actor, first_page, state)
    try:
        with forms.attempt(actor.db):
            program = programs.create_program(actor, body)
    except GoalpathError as error:
        state = forms.refusal(error, values, ("id_school_district", "name", "description"))
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
            "district_names": district_names(actor),
            "members": members,
            "next_link": forms.next_link(request, next_cursor),
            "may_add": actor.grants.allows("program_membership", "create"),
            "may_update": actor.grants.allows("program_membership", "update"),
            "may_remove": actor.grants.allows("program_membership", "delete"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(PROGRAMS.path + "/{id_program}")
def program_page(
    request: Request, actor: PageActor, id_program: str, limit: str = "", cursor: str = ""
) -> Response:
    return _program_page(
        request, actor, forms.path_id(id_program), forms.page_request(limit, cursor)
    )


@router.post(PROGRAMS.path + "/{id_program}/members")
def add_member(
    request: Request,
    actor: PageActor,
    id_program: str,
    email: FormText = "",
    is_primary: FormText = "",
) -> Response:
    program_id = forms.path_id(id_program)
    require_section(actor, PROGRAMS)
    values = {"email": email, "is_primary": is_primary}
    first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
    if not email.strip():
        state = forms.invalid(values, "email", "Enter the staff member's email address.")
        return _program_page(request, actor, program_id, first_page, state)
    # The program first: outside the actor's scope the page is a 404 whatever was typed.
    programs.get_program(actor, program_id)
    if not actor.grants.allows(programs.MEMBERSHIP, "create"):
        # Refused before the email is looked up, as the API refuses before the user.
        actor.authz.deny("create", programs.MEMBERSHIP, None, None, "forbidden")
        raise PageForbidden("Your role cannot add members to programs.")
    id_user = staff_by_email(actor, email)
    if id_user is None:
        state = forms.invalid(
            values, "email", "No staff account you can see has this email address."
        )
        state.status_code = 404
        return _program_page(request, actor, program_id, first_page, state)
    try:
        with forms.attempt(actor.db):
            body = MembershipInput(id_user=id_user, is_primary=is_primary == "yes", status="active")
            member = programs.create_member(actor, program_id, body)
    except GoalpathError as error:
        state = forms.refusal(error, values, ("email",))
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
    program_id = forms.path_id(id_program)
    membership_id = forms.path_id(id_user_program)
    require_section(actor, PROGRAMS)
    try:
        with forms.attempt(actor.db):
            message = change(program_id, membership_id)
    except GoalpathError as error:
        if error.status_code == 404:
            raise
        state = FormState({"email": "", "is_primary": ""}, {}, error.detail, error.status_code)
        first_page = PageRequest(limit=DEFAULT_LIMIT, cursor=None)
        return _program_page(request, actor, program_id, first_page, state)
    return redirect_with_flash(request, f"{PROGRAMS.path}/{program_id}", message)


@router.post(PROGRAMS.path + "/{id_program}/members/{id_user_program}/status")
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
def remove_member(
    request: Request, actor: PageActor, id_program: str, id_user_program: str
) -> Response:
    def change(program_id: int, membership_id: int) -> str:
        programs.delete_member(actor, program_id, membership_id)
        return "The member has been removed from the program."

    return _member_change(request, actor, id_program, id_user_program, change)
