"""Programs and their members, for those who manage them (SPEC sections 1 and 5)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.districts import service as districts
from goalpath.errors import GoalpathError, NotFound, ValidationFailed
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
from goalpath.web.forms import FieldSpec, FormInvalid, FormState, FormText
from goalpath.web.pages import PageActor, page_router, redirect_with_flash

router = page_router()

_FIRST_PAGE = PageRequest(limit=DEFAULT_LIMIT, cursor=None)


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


_PROGRAM_FIELDS = {
    "id_school_district": FieldSpec(
        "id_school_district", "District", "Choose the program's district."
    ),
    "name": FieldSpec("name", "Name", "Enter the program's name."),
    "description": FieldSpec("description", "Description", "Enter a description."),
}


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

    def change() -> tuple[str, str]:
        district = forms.required_choice(id_school_district, _PROGRAM_FIELDS["id_school_district"])
        data = {"id_school_district": district, "name": name, "description": description or None}
        program = programs.create_program(
            actor, forms.validated(ProgramInput, _PROGRAM_FIELDS, values, data)
        )
        location = f"{PROGRAMS.path}/{program.id_program}"
        return f"The program {program.name} has been created.", location

    again = forms.showing(_programs_page, request, actor, _FIRST_PAGE)

    return forms.submit(request, actor.db, FormState(values), _PROGRAM_FIELDS, change, again)


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


_MEMBER_FIELDS = {
    "email": FieldSpec("email", "Email address", "Enter the staff member's email address."),
}


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
    # The program first: outside the actor's scope the page is a 404 whatever was typed.
    programs.get_program(actor, program_id)
    if not actor.grants.allows(programs.MEMBERSHIP, "create"):
        # Refused before the email is looked up, as the API refuses before the user.
        actor.authz.deny("create", programs.MEMBERSHIP, None, None, "forbidden")
        raise PageForbidden("Your role cannot add members to programs.")
    values = {"email": email, "is_primary": is_primary}

    def change() -> tuple[str, str]:
        if not email.strip():
            raise FormInvalid({"email": [_MEMBER_FIELDS["email"].empty]})
        id_user = staff_by_email(actor, email)
        if id_user is None:
            raise NotFound(
                "No staff account you can see has this email address.",
                errors=[{"field": "email"}],
            )
        body = MembershipInput(id_user=id_user, is_primary=is_primary == "yes", status="active")
        member = programs.create_member(actor, program_id, body)
        message = f"{member.name or member.email} is now a member of the program."
        return message, f"{PROGRAMS.path}/{program_id}"

    again = forms.showing(_program_page, request, actor, program_id, _FIRST_PAGE)

    return forms.submit(request, actor.db, FormState(values), _MEMBER_FIELDS, change, again)


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
        return _program_page(request, actor, program_id, _FIRST_PAGE, state)
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
