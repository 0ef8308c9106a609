"""School districts and their contact addresses, for the administrators of districts."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.districts import service as districts
from goalpath.districts.schemas import DistrictInput, DistrictUpdate
from goalpath.kit.pagination import DEFAULT_LIMIT, PageRequest
from goalpath.web import forms
from goalpath.web.admin import DISTRICTS, require_section, section_page
from goalpath.web.forms import FieldSpec, FormState, FormText
from goalpath.web.pages import (
    PageActor,
    page_router,
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


_DISTRICT_FIELDS = {
    "name": FieldSpec("name", "Name", "Enter the district's name."),
    "contact_email": FieldSpec("contact_email", "Contact email", "Enter a contact email."),
    "time_zone": FieldSpec("time_zone", "Time zone", "Choose the district's time zone."),
    "country_code": FieldSpec("country_code", "Country", "Choose the district's country."),
}
_FIRST_PAGE = PageRequest(limit=DEFAULT_LIMIT, cursor=None)


@router.post(DISTRICTS.path)
def create_district(
    request: Request, actor: PageActor, name: FormText = "", contact_email: FormText = ""
) -> Response:
    require_section(actor, DISTRICTS)
    values = {"name": name, "contact_email": contact_email}

    def change() -> tuple[str, str]:
        data = {"name": name, "contact_email": contact_email.strip() or None}
        body = forms.validated(DistrictInput, _DISTRICT_FIELDS, values, data)
        district = districts.create_district(actor, body)
        return f"The district {district.name} has been created.", DISTRICTS.path

    again = forms.showing(_districts_page, request, actor, _FIRST_PAGE)

    return forms.submit(request, actor.db, FormState(values), _DISTRICT_FIELDS, change, again)


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

    def change() -> tuple[str, str]:
        # A form without the zone or country (an older page) leaves them as they are.
        locale = {
            key: value
            for key, value in (
                ("time_zone", time_zone.strip()),
                ("country_code", country_code.strip().upper()),
            )
            if value
        }
        data = {"name": name, "contact_email": contact_email.strip() or None, **locale}
        body = forms.validated(DistrictUpdate, _DISTRICT_FIELDS, values, data)
        district = districts.update_district(
            actor,
            district_id,
            body.model_dump(exclude_unset=True, exclude_none=True)
            | ({"contact_email": None} if body.contact_email is None else {}),
        )
        return f"The district {district.name} has been saved.", f"{DISTRICTS.path}/{district_id}"

    again = forms.showing(_district_page, request, actor, district_id)

    return forms.submit(request, actor.db, FormState(values), _DISTRICT_FIELDS, change, again)
