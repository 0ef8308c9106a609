"""District sign-in providers, for district administrators: list, register, change,
remove (SPEC section 12).

The pages call the API's own service functions (`districts.identity_providers`) and
validate with its input schemas, so a page can do exactly what
/api/v1/districts/{id}/identity-providers lets the same person do. The client secret
is write-only here too: never shown, kept when its field is left empty.

A refusal is answered as a page, but raised on its way there (`Refused`): the error
leaves the endpoint through the request's session dependency, which rolls the
transaction back, and the route then answers with the page rendered before it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.routing import APIRoute
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
from goalpath.errors import GoalpathError
from goalpath.kit.schemas import parse_id
from goalpath.models import IdentityProvider, SchoolDistrict
from goalpath.web.pages import PageActor, redirect_with_flash, render

INDEX_PATH = "/admin/identity-providers"
_EXAMPLE = "lakeside.k12.example"
Schema = TypeVar("Schema", IdentityProviderInput, IdentityProviderUpdate)
FIELDS = ("name", "issuer", "client_id", "client_secret", "allowed_domains", "trust_mfa")
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
_REFUSED_HEADINGS = {
    403: "You cannot change this district's sign-in",
    404: "Page not found",
    409: "That change could not be made",
}
# The words for a refusal whose detail names a record or a right, not what to do.
_REFUSED_MESSAGES = {
    403: "Only a district administrator of this district can register or change its "
    "sign-in providers. Ask one of them, or your system administrator.",
    404: "There is nothing here, or it is not a district or provider you have access to.",
}


_NO_DISTRICT = (
    "District sign-in is set up by a district's administrators, and your role cannot "
    "change any district. Ask a district administrator, or your system administrator."
)


class Refused(Exception):
    """A refused request and the page that answers it."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


class _PageRoute(APIRoute):
    """Answers a `Refused` with its page, once the session dependency has rolled the
    request's transaction back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as refused:
                return refused.response

        return answer


router = APIRouter(include_in_schema=False, route_class=_PageRoute)


def _refuse(request: Request, status: int, detail: str = "", message: str = "") -> NoReturn:
    raise Refused(
        render(
            request,
            "identity_providers/refused.html",
            {
                "heading": _REFUSED_HEADINGS.get(status, "That request could not be used"),
                "message": message or _REFUSED_MESSAGES.get(status, detail),
            },
            status,
        )
    )


def _refuse_error(request: Request, error: GoalpathError) -> NoReturn:
    _refuse(request, error.status_code, error.detail)


def _ids(request: Request, district: str, provider: str | None = None) -> tuple[int, int]:
    """Ids from the address: anything else is a page that does not exist."""
    district_id = parse_id(district)
    provider_id = parse_id(provider) if provider is not None else 0
    if district_id is None or provider_id is None:
        _refuse(request, 404)
    return district_id, provider_id


def _district(request: Request, actor: Actor, id_school_district: int) -> SchoolDistrict:
    try:
        return providers.district_to_manage(actor, id_school_district)
    except GoalpathError as error:
        _refuse_error(request, error)


def _provider(
    request: Request, actor: Actor, district: str, provider: str
) -> tuple[SchoolDistrict, IdentityProvider]:
    """The district and its provider named in the address, if the actor may manage them."""
    district_id, provider_id = _ids(request, district, provider)
    found_district = _district(request, actor, district_id)
    try:
        return found_district, providers.get_provider(actor, district_id, provider_id)
    except GoalpathError as error:
        _refuse_error(request, error)


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


def _service_errors(error: GoalpathError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        field = str(item.get("field", ""))
        if field in LABELS:
            errors.setdefault(field, []).append(str(item.get("message") or error.detail))
    return errors


def _form_page(
    request: Request,
    district: SchoolDistrict,
    provider: IdentityProvider | None,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, list[str]] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "identity_providers/form.html",
        {
            "district": district,
            "provider": provider,
            "form": values,
            "errors": errors or {},
            "form_error": form_error,
            "labels": LABELS,
            "action": _provider_path(
                district.id_school_district,
                provider.id_identity_provider if provider is not None else None,
            ),
            "index_path": INDEX_PATH,
        },
        status_code,
    )


def _form_refused(
    request: Request,
    district: SchoolDistrict,
    provider: IdentityProvider | None,
    values: Mapping[str, str],
    error: GoalpathError | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> NoReturn:
    if error is not None and error.status_code in (403, 404):
        _refuse_error(request, error)
    field_errors = dict(errors or {})
    form_error = None
    if error is not None:
        field_errors = _service_errors(error)
        if not field_errors:
            form_error = error.detail
    raise Refused(
        _form_page(
            request,
            district,
            provider,
            values,
            errors=field_errors,
            form_error=form_error,
            status_code=error.status_code if error is not None else 422,
        )
    )


# -- pages ----------------------------------------------------------------------------


@router.get(INDEX_PATH)
def identity_providers_page(request: Request, actor: PageActor) -> Response:
    managed = providers.manageable_providers(actor)
    if not managed:
        actor.authz.deny("read", providers.RESOURCE, None, None, "page_not_in_role")
        _refuse(request, 403, message=_NO_DISTRICT)
    return render(request, "identity_providers/index.html", {"districts": managed})


@router.get("/admin/districts/{id_school_district}/identity-providers/new")
def new_identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str
) -> Response:
    district_id, _ = _ids(request, id_school_district)
    district = _district(request, actor, district_id)
    return _form_page(request, district, None, _values(None))


class ProviderForm(BaseModel):
    """The form's fields as typed (pages read text; the API's schema then decides)."""

    name: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    allowed_domains: str = ""
    trust_mfa: str = ""


TypedForm = Annotated[ProviderForm, Form()]


def _submitted(
    request: Request,
    district: SchoolDistrict,
    provider: IdentityProvider | None,
    typed: ProviderForm,
    schema: type[Schema],
) -> tuple[dict[str, str], Schema]:
    """The form through the API's input schema; the form again when it refuses. The
    secret is write-only: never sent back, and on a change an empty one is kept."""
    values = {**typed.model_dump(), "client_secret": ""}
    trusted = {"": False, "yes": True}.get(typed.trust_mfa)
    if trusted is None:
        _form_refused(request, district, provider, values, errors={"trust_mfa": [_TRUST_CHOICE]})
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
        return values, schema(**data)
    except ValidationError as error:
        errors = _schema_errors(error, typed.model_dump(), domains)
        _form_refused(request, district, provider, values, errors=errors)


@router.post("/admin/districts/{id_school_district}/identity-providers/new")
def create_identity_provider(
    request: Request, actor: PageActor, id_school_district: str, typed: TypedForm
) -> Response:
    district_id, _ = _ids(request, id_school_district)
    district = _district(request, actor, district_id)
    values, body = _submitted(request, district, None, typed, IdentityProviderInput)
    try:
        created = providers.create_provider(actor, app_settings(request), district_id, body)
    except GoalpathError as error:
        _form_refused(request, district, None, values, error)
    return redirect_with_flash(
        request,
        INDEX_PATH,
        f"{district.name} can now sign in with {created.name}. Check it once from the "
        "sign-in page.",
    )


_TRUST_CHOICE = "Tick the box, or leave it empty."


@router.get("/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}")
def identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str, id_identity_provider: str
) -> Response:
    district, provider = _provider(request, actor, id_school_district, id_identity_provider)
    return _form_page(request, district, provider, _values(provider))


@router.post("/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}")
def update_identity_provider(
    request: Request,
    actor: PageActor,
    id_school_district: str,
    id_identity_provider: str,
    typed: TypedForm,
) -> Response:
    district, provider = _provider(request, actor, id_school_district, id_identity_provider)
    values, body = _submitted(request, district, provider, typed, IdentityProviderUpdate)
    try:
        saved = providers.update_provider(
            actor,
            app_settings(request),
            district.id_school_district,
            provider.id_identity_provider,
            body.model_dump(exclude_unset=True),
        )
    except GoalpathError as error:
        _form_refused(request, district, provider, values, error)
    return redirect_with_flash(request, INDEX_PATH, f"{saved.name} has been saved.")


@router.get(
    "/admin/districts/{id_school_district}/identity-providers/{id_identity_provider}/remove"
)
def remove_identity_provider_page(
    request: Request, actor: PageActor, id_school_district: str, id_identity_provider: str
) -> Response:
    district, provider = _provider(request, actor, id_school_district, id_identity_provider)
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
    district, provider = _provider(request, actor, id_school_district, id_identity_provider)
    name = provider.name
    try:
        providers.delete_provider(actor, district.id_school_district, provider.id_identity_provider)
    except GoalpathError as error:
        _refuse_error(request, error)
    return redirect_with_flash(
        request,
        INDEX_PATH,
        f"{name} has been removed: its sign-in button is gone, and accounts sign in "
        "with their email and password.",
    )
