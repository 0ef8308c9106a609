"""School districts and their contact addresses, for the administrators of districts."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.districts import service as districts
from goalpath.districts.schemas import DistrictInput, DistrictUpdate
from goalpath.errors import GoalpathError
from goalpath.kit.pagination import DEFAULT_LIMIT, PageRequest
from goalpath.web import forms
from goalpath.web.admin import DISTRICTS, require_section, section_page
from goalpath.web.forms import FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
    redirect_with_flash,
)

router = page_router()

# The zones of US school districts, offered first; any IANA zone is accepted.
US_ZONES = (
    ("America/New_York", "Eastern (New York)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Phoenix", "Mountain, no daylight saving (Phoenix)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
    ("Pacific/Guam", "Chamorro (Guam)"),
)


def _zone_choices(current: str) -> list[tuple[str, str]]:
    choices = list(US_ZONES)
    if current and current not in {zone for zone, _label in US_ZONES}:
        choices.append((current, current.replace("_", " ")))
    return choices


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
            "next_link": forms.next_link(request, next_cursor),
            "may_create": actor.grants.holds("school_district", "create", "global"),
            "may_update": actor.grants.allows("school_district", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(DISTRICTS.path)
def districts_page(
    request: Request, actor: PageActor, limit: str = "", cursor: str = ""
) -> Response:
    return _districts_page(request, actor, forms.page_request(limit, cursor))


@router.post(DISTRICTS.path)
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
        state = FormState(values, forms.schema_errors(error, values, labels))
        return _districts_page(request, actor, first_page, state)
    try:
        with forms.attempt(actor.db):
            district = districts.create_district(actor, body)
    except GoalpathError as error:
        state = forms.refusal(error, values, ("name", "contact_email"))
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
        {
            "name": district.name or "",
            "contact_email": district.contact_email or "",
            "time_zone": district.time_zone,
            "country_code": district.country_code,
        },
        {},
        status_code=200,
    )
    return section_page(
        request,
        actor,
        "admin/district.html",
        {
            "district": district,
            "zones": _zone_choices(state.values.get("time_zone", "")),
            "may_update": actor.grants.allows("school_district", "update"),
            **state.context(),
        },
        state.status_code,
    )


@router.get(DISTRICTS.path + "/{id_school_district}")
def district_page(request: Request, actor: PageActor, id_school_district: str) -> Response:
    return _district_page(request, actor, forms.path_id(id_school_district))


@router.post(DISTRICTS.path + "/{id_school_district}")
def update_district(
    request: Request,
    actor: PageActor,
    id_school_district: str,
    name: FormText = "",
    contact_email: FormText = "",
    time_zone: FormText = "",
    country_code: FormText = "",
) -> Response:
    district_id = forms.path_id(id_school_district)
    require_section(actor, DISTRICTS)
    values = {
        "name": name,
        "contact_email": contact_email,
        "time_zone": time_zone,
        "country_code": country_code,
    }
    try:
        # A form without the zone or country (an older page) leaves them as they are.
        locale = {
            key: value
            for key, value in (
                ("time_zone", time_zone.strip()),
                ("country_code", country_code.strip().upper()),
            )
            if value
        }
        body = DistrictUpdate(name=name, contact_email=contact_email.strip() or None, **locale)
    except ValidationError as error:
        labels = {
            "name": "the district's name",
            "contact_email": "a contact email",
            "time_zone": "the district's time zone",
            "country_code": "the district's country",
        }
        state = FormState(values, forms.schema_errors(error, values, labels))
        return _district_page(request, actor, district_id, state)
    try:
        with forms.attempt(actor.db):
            district = districts.update_district(
                actor,
                district_id,
                body.model_dump(exclude_unset=True, exclude_none=True)
                | ({"contact_email": None} if body.contact_email is None else {}),
            )
    except GoalpathError as error:
        if error.status_code == 404:
            raise
        state = forms.refusal(error, values, ("name", "contact_email", "time_zone"))
        return _district_page(request, actor, district_id, state)
    return redirect_with_flash(
        request,
        f"{DISTRICTS.path}/{district_id}",
        f"The district {district.name} has been saved.",
    )
