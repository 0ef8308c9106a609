"""District sign-in providers, for district administrators: list, register, change,
remove (SPEC section 12).

The pages call the API's own service functions (`districts.identity_providers`) and
validate with its input schemas, so a page can do exactly what
/api/v1/districts/{id}/identity-providers lets the same person do. The client secret
is write-only here too: never shown, kept when its field is left empty. The forms go
through the form kit (`web.forms`); a refusal with no form to show is raised and
answered by the page error handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.districts import identity_providers as providers
from goalpath.districts.identity_provider_schemas import (
    MAX_DOMAINS,
    IdentityProviderInput,
    IdentityProviderUpdate,
)
from goalpath.errors import Forbidden
from goalpath.models import IdentityProvider, SchoolDistrict
from goalpath.web import forms
from goalpath.web.admin import PageForbidden
from goalpath.web.forms import FieldSpec, FormInvalid, FormState
from goalpath.web.pages import PageActor, page_router, redirect_with_flash, render

INDEX_PATH = "/admin/identity-providers"
_EXAMPLE = "lakeside.k12.example"
LABELS = {
    "name": "Name on the sign-in button",
    "issuer": "Issuer",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "allowed_domains": "Email domains",
    "trust_mfa": "Provider's multi-factor sign-in",
}
_EMPTY = {
    "name": "Enter the name to show on the sign-in button, such as Lakeside Google.",
    "issuer": "Enter the issuer address, such as https://accounts.google.com.",
    "client_id": "Enter the client ID the provider gave Goalpath.",
    "client_secret": "Enter the client secret the provider gave Goalpath.",
}
# Said instead of the right's name when a district's sign-in is not the person's to change.
_MANAGERS_ONLY = (
    "Only a district administrator of this district can register or change its sign-in "
    "providers. Ask one of them, or your system administrator."
)


_NO_DISTRICT = (
    "District sign-in is set up by a district's administrators, and your role cannot "
    "change any district. Ask a district administrator, or your system administrator."
)


router = page_router()


def _district(actor: Actor, id_school_district: str) -> SchoolDistrict:
    """The district named in the address, if the actor may manage its providers."""
    try:
        return providers.district_to_manage(actor, forms.path_id(id_school_district))
    except Forbidden:
        raise PageForbidden(_MANAGERS_ONLY) from None


def _provider(
    actor: Actor, district: str, provider: str
) -> tuple[SchoolDistrict, IdentityProvider]:
    """The district and its provider named in the address, if the actor may manage them."""
    found = _district(actor, district)
    provider_id = forms.path_id(provider)
    return found, providers.get_provider(actor, found.id_school_district, provider_id)


def _provider_path(id_school_district: int, id_identity_provider: int | None = None) -> str:
    base = f"/admin/districts/{id_school_district}/identity-providers"
    return f"{base}/{id_identity_provider}" if id_identity_provider is not None else base + "/new"


# -- the form -------------------------------------------------------------------------


def _values(provider: IdentityProvider | None) -> dict[str, str]:
    if provider is None:
        return dict.fromkeys(FIELDS, "")
    return {
        "name": provider.name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": "",
        "allowed_domains": "\n".join(provider.domains),
        "trust_mfa": "yes" if provider.trust_mfa else "",
    }


def _domains(text: str) -> list[str]:
    """One domain a line (or comma-separated); a line with spaces stays one entry, so
    the message names what was typed."""
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _schema_errors(
    error: ValidationError, values: Mapping[str, str], domains: list[str]
) -> dict[str, list[str]]:
    """The schema's refusals in words a person reads, one per field, keyed by field."""
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        location = problem["loc"]
        field = str(location[0]) if location else "name"
        if field not in LABELS or field in errors:
            continue
        kind = str(problem.get("type", ""))
        limit = (problem.get("ctx") or {}).get("max_length")
        if field == "allowed_domains":
            if kind == "too_long":
                message = f"List at most {MAX_DOMAINS} domains."
            else:
                index = location[1] if len(location) > 1 else None
                shown = domains[index] if isinstance(index, int) and index < len(domains) else ""
                message = f"{shown[:80]} is not a domain name; write domains such as {_EXAMPLE}."
        elif not values.get(field, "").strip() and field in _EMPTY:
            message = _EMPTY[field]
        elif kind == "string_too_long" and limit:
            message = f"{LABELS[field]} must be at most {limit} characters."
        elif field == "name":
            message = "The name must be one line of text, without control characters."
        else:
            message = f"{LABELS[field]} must be text without control characters."
        errors[field] = [message]
    if not errors:
        errors["name"] = ["Check the form: some of it cannot be used."]
    return errors


FIELDS = {name: FieldSpec(name, label, _EMPTY.get(name, "")) for name, label in LABELS.items()}


def _form_page(
    request: Request,
    district: SchoolDistrict,
    provider: IdentityProvider | None,
    state: FormState,
) -> Response:
    context = {
        "district": district,
        "provider": provider,
        "form": state.values,
        "labels": LABELS,
        "action": _provider_path(
            district.id_school_district,
            provider.id_identity_provider if provider is not None else None,
        ),
        "index_path": INDEX_PATH,
    }
    return forms.render_again(request, "identity_providers/form.html", context, state)


def _save(
    request: Request,
    actor: Actor,
    district: SchoolDistrict,
    provider: IdentityProvider | None,
    typed: ProviderForm,
) -> Response:
    """The form through the API's input schema and service; the form again when either
    refuses. The secret is write-only: never sent back, and on a change an empty one is
    kept."""
    values = {**typed.model_dump(), "client_secret": ""}
    settings = app_settings(request)
    district_id = district.id_school_district

    def change() -> tuple[str, str]:
        trusted = {"": False, "yes": True}.get(typed.trust_mfa)
        if trusted is None:
            raise FormInvalid({"trust_mfa": [_TRUST_CHOICE]})
        domains = _domains(typed.allowed_domains)
        data: dict[str, Any] = {
            "name": typed.name,
            "issuer": typed.issuer,
            "client_id": typed.client_id.strip(),
            "allowed_domains": domains,
            "trust_mfa": trusted,
        }
        if typed.client_secret or provider is None:
            data["client_secret"] = typed.client_secret
        try:
            if provider is None:
                created = providers.create_provider(
                    actor, settings, district_id, IdentityProviderInput(**data)
                )
                return (
                    f"{district.name} can now sign in with {created.name}. Check it once from "
                    "the sign-in page.",
                    INDEX_PATH,
                )
            body = IdentityProviderUpdate(**data)
        except ValidationError as error:
            raise FormInvalid(_schema_errors(error, typed.model_dump(), domains)) from None
        saved = providers.update_provider(
            actor,
            settings,
            district_id,
            provider.id_identity_provider,
            body.model_dump(exclude_unset=True),
        )
        return f"{saved.name} has been saved.", INDEX_PATH

    def again(failed: FormState | None, _message: str | None) -> Response:
        return _form_page(request, district, provider, failed or forms.blank(values))

    return forms.submit(request, actor.db, FormState(values), FIELDS, change, again)


# -- pages ----------------------------------------------------------------------------


@router.get(INDEX_PATH)
def identity_providers_page(request: Request, actor: PageActor) -> Response:
    managed = providers.manageable_providers(actor)
    if not managed:
        actor.authz.deny("read", providers.RESOURCE, None, None, "page_not_in_role")
        raise PageForbidden(_NO_DISTRICT)
    return render(request, "identity_providers/index.html", {"districts": managed})


@router.get("/admin/districts/{id_school_district}/identity-providers/new")
def new_identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str
) -> Response:
    district = _district(actor, id_school_district)
    return _form_page(request, district, None, forms.blank(_values(None)))


class ProviderForm(BaseModel):
    """The form's fields as typed (pages read text; the API's schema then decides)."""

    name: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    allowed_domains: str = ""
    trust_mfa: str = ""


TypedForm = Annotated[ProviderForm, Form()]
_TRUST_CHOICE = "Tick the box, or leave it empty."


@router.post("/admin/districts/{id_school_district}/identity-providers/new")
def create_identity_provider(
    request: Request, actor: PageActor, id_school_district: str, typed: TypedForm
) -> Response:
    return _save(request, actor, _district(actor, id_school_district), None, typed)


@router.get("/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}")
def identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str, id_identity_provider: str
) -> Response:
    district, provider = _provider(actor, id_school_district, id_identity_provider)
    return _form_page(request, district, provider, forms.blank(_values(provider)))


@router.post("/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}")
def update_identity_provider(
    request: Request,
    actor: PageActor,
    id_school_district: str,
    id_identity_provider: str,
    typed: TypedForm,
) -> Response:
    district, provider = _provider(actor, id_school_district, id_identity_provider)
    return _save(request, actor, district, provider, typed)


@router.get(
    "/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}/remove"
)
def remove_identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str, id_identity_provider: str
) -> Response:
    district, provider = _provider(actor, id_school_district, id_identity_provider)
    return render(
        request,
        "identity_providers/remove.html",
        {
            "district": district,
            "provider": provider,
            "action": _provider_path(district.id_school_district, provider.id_identity_provider)
            + "/remove",
            "back": _provider_path(district.id_school_district, provider.id_identity_provider),
        },
    )


@router.post(
    "/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}/remove"
)
def remove_identity_provider(
    request: Request, actor: PageActor, id_school_district: str, id_identity_provider: str
) -> Response:
    district, provider = _provider(actor, id_school_district, id_identity_provider)
    name = provider.name
    providers.delete_provider(actor, district.id_school_district, provider.id_identity_provider)
    return redirect_with_flash(
        request,
        INDEX_PATH,
        f"{name} has been removed: its sign-in button is gone, and accounts sign in "
        "with their email and password.",
    )
