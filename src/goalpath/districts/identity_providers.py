"""A district's identity providers for district sign-in (SPEC section 12):
/districts/{id}/identity-providers.

Only someone who may update the district registers or sees its providers. The client
secret is encrypted as it arrives and never leaves again; the audit trail names the
fields that changed, never their contents.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy import select

from goalpath.audit.service import changed_fields
from goalpath.auth import oidc
from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.authz.deps import CurrentActor
from goalpath.config import Settings
from goalpath.districts.identity_provider_schemas import (
    IdentityProvider as IdentityProviderOut,
)
from goalpath.districts.identity_provider_schemas import (
    IdentityProviderInput,
    IdentityProviderUpdate,
)
from goalpath.districts.schemas import MAX_ID
from goalpath.districts.service import RESOURCE as DISTRICT
from goalpath.districts.service import flush
from goalpath.errors import NotFound, ValidationFailed
from goalpath.kit.problems import problem_responses
from goalpath.models import IdentityProvider, SchoolDistrict

RESOURCE = "identity_provider"

router = APIRouter(prefix="/districts/{id_school_district}/identity-providers", tags=["districts"])

DistrictId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_school_district")]
ProviderId = Annotated[int, Path(ge=1, le=MAX_ID, description="id_identity_provider")]


def _district(actor: Actor, id_school_district: int) -> SchoolDistrict:
    return actor.authz.fetch(SchoolDistrict, id_school_district, DISTRICT, "update")


def _check_issuer(settings: Settings, issuer: str) -> None:
    refusal = oidc.issuer_refusal(issuer, settings)
    if refusal is not None:
        raise ValidationFailed(
            f"The issuer {refusal}.",
            errors=[{"field": "issuer", "message": f"The issuer {refusal}."}],
        )


def _provider(actor: Actor, id_school_district: int, id_identity_provider: int) -> IdentityProvider:
    _district(actor, id_school_district)
    provider = actor.db.scalar(
        select(IdentityProvider).where(
            IdentityProvider.id_identity_provider == id_identity_provider,
            IdentityProvider.id_school_district == id_school_district,
        )
    )
    if provider is None:
        raise NotFound("Not found.")
    return provider


def _answer(provider: IdentityProvider) -> IdentityProviderOut:
    return IdentityProviderOut(
        id_identity_provider=provider.id_identity_provider,
        id_school_district=provider.id_school_district,
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        allowed_domains=provider.domains,
        trust_mfa=provider.trust_mfa,
        created_at=provider.created_at,
    )


def list_providers(actor: Actor, id_school_district: int) -> list[IdentityProvider]:
    _district(actor, id_school_district)
    return list(
        actor.db.scalars(
            select(IdentityProvider)
            .where(IdentityProvider.id_school_district == id_school_district)
            .order_by(IdentityProvider.id_identity_provider)
        )
    )


def manageable_providers(
    actor: Actor,
) -> list[tuple[SchoolDistrict, list[IdentityProvider]]]:
    """Every district whose providers this actor may manage (those they may read and
    update), each with its providers: the overview of the administration page."""
    authz = actor.authz
    district_list = list(
        actor.db.scalars(
            authz.scoped(select(SchoolDistrict), DISTRICT)
            .where(authz.condition(DISTRICT, "update"))
            .order_by(SchoolDistrict.name, SchoolDistrict.id_school_district)
        )
    )
    by_district: dict[int, list[IdentityProvider]] = {
        district.id_school_district: [] for district in district_list
    }
    if by_district:
        for provider in actor.db.scalars(
            select(IdentityProvider)
            .where(IdentityProvider.id_school_district.in_(by_district))
            .order_by(IdentityProvider.name, IdentityProvider.id_identity_provider)
        ):
            by_district[provider.id_school_district].append(provider)
    return [(district, by_district[district.id_school_district]) for district in district_list]


def get_provider(
    actor: Actor, id_school_district: int, id_identity_provider: int
) -> IdentityProvider:
    """One provider of a district the actor may update (else 404 or 403)."""
    return _provider(actor, id_school_district, id_identity_provider)


def district_to_manage(actor: Actor, id_school_district: int) -> SchoolDistrict:
    """The district, if the actor may manage its providers (else 404 or 403)."""
    return _district(actor, id_school_district)


def create_provider(
    actor: Actor, settings: Settings, id_school_district: int, body: IdentityProviderInput
) -> IdentityProvider:
    _district(actor, id_school_district)
    _check_issuer(settings, body.issuer)
    provider = IdentityProvider(
        id_school_district=id_school_district,
        name=body.name,
        issuer=body.issuer,
        client_id=body.client_id,
        client_secret_encrypted=oidc.encrypt_client_secret(settings, body.client_secret),
        allowed_domains=oidc.domains_json(body.allowed_domains),
        trust_mfa=body.trust_mfa,
        created_at=actor.info.now,
    )
    actor.db.add(provider)
    flush(actor, "The identity provider could not be saved; try again.")
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=provider.id_identity_provider,
        details={"fields": sorted(body.model_dump()), "id_school_district": id_school_district},
    )
    return provider


def update_provider(
    actor: Actor,
    settings: Settings,
    id_school_district: int,
    id_identity_provider: int,
    changes: dict[str, Any],
) -> IdentityProvider:
    provider = _provider(actor, id_school_district, id_identity_provider)
    if "issuer" in changes:
        _check_issuer(settings, changes["issuer"])
    changed: list[str] = []
    if "client_secret" in changes:
        # A secret cannot be compared with its ciphertext; setting one is a change.
        provider.client_secret_encrypted = oidc.encrypt_client_secret(
            settings, changes.pop("client_secret")
        )
        changed.append("client_secret")
    if "allowed_domains" in changes:
        domains = oidc.domains_json(changes.pop("allowed_domains"))
        if domains != provider.allowed_domains:
            provider.allowed_domains = domains
            changed.append("allowed_domains")
    before = {field: getattr(provider, field) for field in changes}
    for field, value in changes.items():
        setattr(provider, field, value)
    changed.extend(changed_fields(before, changes))
    flush(actor, "The identity provider changed meanwhile; reload it and try again.")
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_identity_provider,
        details={"fields": sorted(changed), "id_school_district": id_school_district},
    )
    return provider


def delete_provider(actor: Actor, id_school_district: int, id_identity_provider: int) -> None:
    provider = _provider(actor, id_school_district, id_identity_provider)
    actor.db.delete(provider)
    flush(actor, "The identity provider changed meanwhile; reload it and try again.")
    actor.audit.record(
        "delete",
        RESOURCE,
        record_id=id_identity_provider,
        details={"id_school_district": id_school_district},
    )


@router.get(
    "",
    response_model=list[IdentityProviderOut],
    responses=problem_responses(401, 403, 404, 422),
    summary="The district's identity providers (for those who may update the district)",
)
def list_identity_providers(
    id_school_district: DistrictId, actor: CurrentActor
) -> list[IdentityProviderOut]:
    return [_answer(provider) for provider in list_providers(actor, id_school_district)]


@router.post(
    "",
    status_code=201,
    response_model=IdentityProviderOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Register an OpenID Connect provider for district sign-in",
)
def create_identity_provider(
    id_school_district: DistrictId,
    body: IdentityProviderInput,
    actor: CurrentActor,
    request: Request,
) -> IdentityProviderOut:
    return _answer(create_provider(actor, app_settings(request), id_school_district, body))


@router.get(
    "/{id_identity_provider}",
    response_model=IdentityProviderOut,
    responses=problem_responses(401, 403, 404, 422),
)
def get_identity_provider(
    id_school_district: DistrictId, id_identity_provider: ProviderId, actor: CurrentActor
) -> IdentityProviderOut:
    return _answer(get_provider(actor, id_school_district, id_identity_provider))


@router.patch(
    "/{id_identity_provider}",
    response_model=IdentityProviderOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Change a provider; a new client_secret replaces the stored one",
)
def update_identity_provider(
    id_school_district: DistrictId,
    id_identity_provider: ProviderId,
    body: IdentityProviderUpdate,
    actor: CurrentActor,
    request: Request,
) -> IdentityProviderOut:
    provider = update_provider(
        actor,
        app_settings(request),
        id_school_district,
        id_identity_provider,
        body.model_dump(exclude_unset=True),
    )
    return _answer(provider)


@router.delete(
    "/{id_identity_provider}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422),
    summary="Remove a provider; its sign-in button disappears at once",
)
def delete_identity_provider(
    id_school_district: DistrictId, id_identity_provider: ProviderId, actor: CurrentActor
) -> Response:
    delete_provider(actor, id_school_district, id_identity_provider)
    return Response(status_code=204)
