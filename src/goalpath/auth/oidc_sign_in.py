"""District sign-in with OpenID Connect (SPEC section 12): leave for the provider, and
come back with a code.

Authorization code flow with PKCE (RFC 7636, S256), `state` against login CSRF and
`nonce` against a replayed ID token (OpenID Connect Core 1.0, sections 3.1.2 and
3.1.3.7). The browser carries nothing it could forge: state, nonce and the PKCE
verifier travel in a cookie signed with the app's key and dead after a few minutes.

Signing in never creates an account or hands out a role: the verified email must
already belong to an active account of the provider's district (SPEC sections 11, 12).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from goalpath.audit.service import FAILED
from goalpath.auth import second_factor
from goalpath.auth.events import email_digest, security_event
from goalpath.auth.oidc import (
    PROVIDER_TROUBLE,
    START_AGAIN,
    OidcRefused,
    ProviderCache,
    ProviderMetadata,
    client_secret,
    discover,
)
from goalpath.auth.oidc_tokens import checked_email, validated_claims
from goalpath.auth.request import Request
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.auth.sessions import IssuedSession, issue_session
from goalpath.authz.scopes import ACTIVE
from goalpath.config import Settings
from goalpath.models import IdentityProvider, Program, SchoolDistrict, User, UserProgram

CALLBACK_PATH = "/sign-in/oidc/callback"
FLOW_COOKIE = "goalpath_oidc"
FLOW_COOKIE_PATH = "/sign-in/oidc"
_FLOW_SALT = "goalpath.oidc-flow"
SCOPE = "openid email profile"


@dataclass(frozen=True)
class Flow:
    """What the callback must find again, sealed in the flow cookie."""

    id_identity_provider: int
    state: str
    nonce: str
    code_verifier: str
    next_path: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=_FLOW_SALT)


def seal_flow(settings: Settings, flow: Flow) -> str:
    return _serializer(settings).dumps(
        [flow.id_identity_provider, flow.state, flow.nonce, flow.code_verifier, flow.next_path]
    )


def open_flow(settings: Settings, sealed: str | None) -> Flow | None:
    if not sealed:
        return None
    try:
        values = _serializer(settings).loads(sealed, max_age=settings.oidc_flow_minutes * 60)
    except BadSignature:
        return None
    if (
        not isinstance(values, list)
        or len(values) != 5
        or not isinstance(values[0], int)
        or not all(isinstance(value, str) for value in values[1:])
    ):
        return None
    return Flow(values[0], values[1], values[2], values[3], values[4])


def redirect_uri(settings: Settings) -> str:
    # Built from the configured address, never the request's Host header, so the code
    # cannot be sent to a host an attacker named.
    return settings.public_base_url + CALLBACK_PATH


def _client(settings: Settings, provider: IdentityProvider, auth_method: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=client_secret(settings, provider),
        token_endpoint_auth_method=auth_method,
        scope=SCOPE,
        redirect_uri=redirect_uri(settings),
        code_challenge_method="S256",
        default_timeout=settings.oidc_timeout_seconds,
    )


def begin(
    settings: Settings,
    provider: IdentityProvider,
    next_path: str,
    cache: ProviderCache | None = None,
) -> tuple[str, Flow]:
    """Where to send the browser, and the flow to seal in its cookie."""
    metadata = discover(provider.issuer, settings, cache)
    flow = Flow(
        id_identity_provider=provider.id_identity_provider,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        # 64 URL-safe characters: RFC 7636 asks for 43 to 128.
        code_verifier=secrets.token_urlsafe(48),
        next_path=next_path,
    )
    with _client(settings, provider, metadata.token_auth_method) as client:
        url, _state = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=flow.state,
            code_verifier=flow.code_verifier,
            nonce=flow.nonce,
        )
    return str(url), flow


def _exchange_code(
    settings: Settings,
    provider: IdentityProvider,
    metadata: ProviderMetadata,
    flow: Flow,
    code: str,
) -> str:
    try:
        with _client(settings, provider, metadata.token_auth_method) as client:
            token = client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=flow.code_verifier,
            )
    except (OAuth2Error, requests.RequestException, ValueError) as error:
        raise OidcRefused("token_exchange_failed", START_AGAIN) from error
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not isinstance(id_token, str):
        raise OidcRefused("no_id_token", PROVIDER_TROUBLE, status_code=502)
    return id_token


def district_account(session: Session, provider: IdentityProvider, email: str) -> User:
    """The active account with this email at home in the provider's district or placed
    in one of its programs (SPEC section 11); anyone else is refused."""
    id_district = provider.id_school_district
    in_district = (User.id_school_district_home == id_district) | exists(
        select(UserProgram.id_user_program)
        .join(Program, Program.id_program == UserProgram.id_program)
        .where(
            UserProgram.id_user == User.id_user,
            UserProgram.status == ACTIVE,
            Program.id_school_district == id_district,
        )
    )
    user = session.scalars(select(User).where(User.email == email, in_district)).one_or_none()
    district_name = session.scalar(
        select(SchoolDistrict.name).where(SchoolDistrict.id_school_district == id_district)
    )
    if user is None:
        known = session.scalar(select(User.id_user).where(User.email == email))
        raise OidcRefused(
            "unknown_account" if known is None else "other_district",
            f"No Goalpath account of {district_name or 'this district'} uses {email}; ask "
            "your district administrator to add you, or sign in the way your account was "
            "set up.",
            id_user=known,
            email=email,
        )
    if not user.is_active:
        raise OidcRefused(
            "deactivated",
            "This Goalpath account has been turned off; ask your district administrator if "
            "you still need it.",
            id_user=user.id_user,
        )
    return user


def finish(
    session: Session,
    settings: Settings,
    *,
    flow: Flow,
    state: str,
    code: str,
    request: Request,
    cache: ProviderCache | None = None,
) -> tuple[User, IssuedSession | IssuedChallenge]:
    """Check everything the provider sent back and issue a session as a password
    sign-in does, or, for an account with an authenticator app whose sign-in the
    provider's MFA does not stand in for, the same second-step challenge as a right
    password gets (SPEC section 12). Nothing is written before every check has passed."""
    if not hmac.compare_digest(state, flow.state):
        raise OidcRefused("bad_state", START_AGAIN, status_code=400)
    provider = session.get(IdentityProvider, flow.id_identity_provider)
    if provider is None:
        raise OidcRefused("unknown_provider", START_AGAIN, status_code=400)
    # The provider is called up to three times below; as for a password check, no
    # transaction or pooled connection is held while that happens.
    session.expunge(provider)
    session.commit()
    if not code:
        raise OidcRefused("no_code", START_AGAIN, status_code=400)
    metadata = discover(provider.issuer, settings, cache)
    id_token = _exchange_code(settings, provider, metadata, flow, code)
    claims = validated_claims(
        settings,
        provider,
        metadata,
        id_token,
        nonce=flow.nonce,
        now=int(request.now.timestamp()),
        cache=cache,
    )
    email = checked_email(provider, claims)
    user = district_account(session, provider, email)
    amr = claims.get("amr")
    provider_mfa = provider.trust_mfa and isinstance(amr, list) and "mfa" in amr
    if second_factor.enrolled(session, user.id_user) and not provider_mfa:
        challenge = second_factor.issue_challenge(session, user.id_user, now=request.now)
        security_event(
            "login.second_factor_required",
            audit=request.audit,
            id_user=user.id_user,
            method="oidc",
            id_identity_provider=provider.id_identity_provider,
        )
        return user, challenge
    issued = issue_session(
        session,
        settings,
        id_user=user.id_user,
        now=request.now,
        ip=request.ip,
        user_agent=request.user_agent,
    )
    extra = {"second_factor": "provider_mfa"} if provider_mfa else {}
    security_event(
        "login.succeeded",
        audit=request.audit,
        id_user=user.id_user,
        session=issued.record.id_user_session,
        method="oidc",
        id_identity_provider=provider.id_identity_provider,
        **extra,
    )
    return user, issued


def record_refusal(
    request: Request, refusal: OidcRefused, *, id_identity_provider: int | None
) -> None:
    """A refused district sign-in on the trail as a failed sign-in; an email no account
    has is kept only as a digest, as for password sign-in."""
    details: dict[str, Any] = {"reason": refusal.reason, "method": "oidc"}
    if id_identity_provider is not None:
        details["id_identity_provider"] = id_identity_provider
    if refusal.email and refusal.id_user is None:
        details["email_digest"] = email_digest(refusal.email)
    security_event(
        "login.failed", audit=request.audit, outcome=FAILED, id_user=refusal.id_user, **details
    )
