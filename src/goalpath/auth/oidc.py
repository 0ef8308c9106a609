"""District sign-in with OpenID Connect (SPEC section 12).

Authorization code flow with PKCE (RFC 7636, S256), `state` against login CSRF and
`nonce` against a replayed ID token (OpenID Connect Core 1.0, sections 3.1.2 and
3.1.3.7). The browser carries nothing it could forge: state, nonce and the PKCE
verifier travel in a cookie signed with the app's key and dead after a few minutes.

Signing in never creates an account or hands out a role: the verified email must
already belong to an active account of the provider's district (SPEC sections 11, 12).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from goalpath.audit.service import FAILED
from goalpath.auth import second_factor
from goalpath.auth.events import email_digest, security_event
from goalpath.auth.request import Request
from goalpath.auth.second_factor import IssuedChallenge
from goalpath.auth.sessions import IssuedSession, issue_session
from goalpath.authz.scopes import ACTIVE
from goalpath.config import Settings
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import IdentityProvider, Program, SchoolDistrict, User, UserProgram

CALLBACK_PATH = "/sign-in/oidc/callback"
FLOW_COOKIE = "goalpath_oidc"
FLOW_COOKIE_PATH = "/sign-in/oidc"
_FLOW_SALT = "goalpath.oidc-flow"
SCOPE = "openid email profile"
# Asymmetric algorithms only: an HMAC-signed ID token would be keyed with the client
# secret, which Goalpath stores and so could have forged itself.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# Clock difference tolerated between Goalpath and the provider, in seconds.
_LEEWAY = 60
_GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
# Discovery documents and key sets are kept this long, for this many providers; a key
# set is fetched again early, once, when an ID token names a key it lacks (rotation).
CACHE_SECONDS = 3600.0
CACHE_ENTRIES = 128
# However many ID tokens name an unknown key, a key set is fetched again at most this
# often: a provider that keeps naming keys it does not publish costs one request.
KEY_REFETCH_SECONDS = 60.0


class OidcRefused(Exception):
    """A district sign-in that cannot go on. `reason` goes on the audit trail, `message`
    tells the person what to do; `id_user` is set once the account is known."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        status_code: int = 401,
        id_user: int | None = None,
        email: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status_code = status_code
        self.id_user = id_user
        self.email = email


START_AGAIN = (
    "This sign-in could not be checked, took too long or was started in another browser "
    "window; go back to the sign-in page and start again."
)
PROVIDER_TROUBLE = (
    "Your district's sign-in service could not be reached or gave an answer Goalpath "
    "cannot accept; try again in a few minutes, or sign in with your email and password."
)


def issuer_refusal(issuer: str, settings: Settings) -> str | None:
    """Why an issuer (or an endpoint a provider names) may not be used, or None.

    Tokens and secrets cross these connections, so plain http is allowed only for a
    provider on this machine, and only when the setting for tests says so."""
    try:
        parts = urlsplit(issuer)
    except ValueError:
        return "must be an https address"
    if parts.query or parts.fragment or not parts.hostname:
        return "must be an https address with no query or fragment"
    if parts.scheme == "https":
        return None
    if (
        parts.scheme == "http"
        and settings.oidc_allow_insecure_loopback
        and _loopback(parts.hostname)
    ):
        return None
    return "must start with https://"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_secret(settings: Settings, provider: IdentityProvider) -> str:
    return HealthNoteCipher.from_settings(settings).decrypt(provider.client_secret_encrypted)


def encrypt_client_secret(settings: Settings, secret: str) -> str:
    return HealthNoteCipher.from_settings(settings).encrypt(secret)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_method: str
    algorithms: tuple[str, ...]


def _get_json(url: str, settings: Settings) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=settings.oidc_timeout_seconds)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise OidcRefused("provider_unreachable", PROVIDER_TROUBLE, status_code=502) from error
    if not isinstance(body, dict):
        raise OidcRefused("provider_invalid_metadata", PROVIDER_TROUBLE, status_code=502)
    return body


class ProviderCache:
    """Discovery documents and key sets by address, each kept for `lifetime` seconds,
    the least recently used dropped beyond `entries`. Only answers that passed their
    checks are kept, so a provider's bad moment is not remembered. Shared by the
    request threads of one app."""

    def __init__(
        self,
        *,
        lifetime: float = CACHE_SECONDS,
        entries: int = CACHE_ENTRIES,
        refetch_after: float = KEY_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self.entries = entries
        self.refetch_after = refetch_after
        self._clock = clock
        self._lock = threading.Lock()
        self._values: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._forced: dict[str, float] = {}

    def get(self, kind: str, address: str) -> Any:
        with self._lock:
            found = self._values.get((kind, address))
            if found is None:
                return None
            stored_at, value = found
            if self._clock() - stored_at >= self.lifetime:
                del self._values[(kind, address)]
                return None
            self._values.move_to_end((kind, address))
            return value

    def put(self, kind: str, address: str, value: Any) -> None:
        with self._lock:
            self._values[(kind, address)] = (self._clock(), value)
            self._values.move_to_end((kind, address))
            while len(self._values) > self.entries:
                self._values.popitem(last=False)
            if len(self._forced) > self.entries:
                self._forced.clear()

    def may_refetch(self, address: str) -> bool:
        """Whether a key set may be fetched again before its time; counts as done."""
        with self._lock:
            moment = self._clock()
            last = self._forced.get(address)
            if last is not None and moment - last < self.refetch_after:
                return False
            self._forced[address] = moment
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


def discover(
    issuer: str, settings: Settings, cache: ProviderCache | None = None
) -> ProviderMetadata:
    """The provider's metadata (OpenID Connect Discovery 1.0), from `cache` while it
    keeps it. Its `issuer` must be the registered one exactly (section 4.3), and every
    endpoint must pass the same transport rule as the issuer."""
    if issuer_refusal(issuer, settings) is not None:
        raise OidcRefused("issuer_not_allowed", PROVIDER_TROUBLE, status_code=502)
    cached = cache.get("discovery", issuer) if cache is not None else None
    if isinstance(cached, ProviderMetadata):
        return cached
    metadata = _fetch_metadata(issuer, settings)
    if cache is not None:
        cache.put("discovery", issuer, metadata)
    return metadata


def _fetch_metadata(issuer: str, settings: Settings) -> ProviderMetadata:
    document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", settings)
    endpoints = {
        name: document.get(name)
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    }
    if document.get("issuer") != issuer or not all(
        isinstance(value, str) and issuer_refusal(value, settings) is None
        for value in endpoints.values()
    ):
        raise OidcRefused("provider_invalid_metadata", PROVIDER_TROUBLE, status_code=502)
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = (
        "client_secret_post"
        if "client_secret_basic" not in methods and "client_secret_post" in methods
        else "client_secret_basic"
    )
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in _ALGORITHMS if alg in offered)
    if not algorithms:
        raise OidcRefused("provider_invalid_metadata", PROVIDER_TROUBLE, status_code=502)
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(endpoints["authorization_endpoint"]),
        token_endpoint=str(endpoints["token_endpoint"]),
        jwks_uri=str(endpoints["jwks_uri"]),
        token_auth_method=method,
        algorithms=algorithms,
    )


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


def validated_claims(
    settings: Settings,
    provider: IdentityProvider,
    metadata: ProviderMetadata,
    id_token: str,
    *,
    nonce: str,
    now: int,
    cache: ProviderCache | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), issuer,
    audience, expiry and nonce hold (OpenID Connect Core 1.0, section 3.1.3.7)."""
    try:
        try:
            token = jwt.decode(
                id_token, _key_set(settings, metadata, cache), algorithms=list(metadata.algorithms)
            )
        except InvalidKeyIdError:
            # A key the kept set lacks: the provider may have rotated its keys
            # (OpenID Connect Core 1.0, section 10.1.1), so the set is fetched once more.
            if cache is None or not cache.may_refetch(metadata.jwks_uri):
                raise
            keys = _key_set(settings, metadata, cache, fresh=True)
            token = jwt.decode(id_token, keys, algorithms=list(metadata.algorithms))
    except (JoseError, ValueError) as error:
        raise OidcRefused("bad_signature", START_AGAIN) from error
    claims = dict(token.claims)
    presented_nonce = claims.get("nonce")
    if not isinstance(presented_nonce, str) or not hmac.compare_digest(presented_nonce, nonce):
        raise OidcRefused("bad_nonce", START_AGAIN)
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=_LEEWAY,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as error:
        raise OidcRefused("token_expired", START_AGAIN) from error
    except JoseError as error:
        raise OidcRefused("invalid_token", START_AGAIN) from error
    audience = claims.get("aud")
    # With several audiences the token must name Goalpath as the party it was issued to.
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != provider.client_id:
        raise OidcRefused("invalid_token", START_AGAIN)
    return claims


def _key_set(
    settings: Settings,
    metadata: ProviderMetadata,
    cache: ProviderCache | None,
    *,
    fresh: bool = False,
) -> KeySet:
    cached = cache.get("jwks", metadata.jwks_uri) if cache is not None and not fresh else None
    if isinstance(cached, KeySet):
        return cached
    try:
        keys = KeySet.import_key_set(_get_json(metadata.jwks_uri, settings))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise OidcRefused("provider_invalid_keys", PROVIDER_TROUBLE, status_code=502) from error
    if cache is not None:
        cache.put("jwks", metadata.jwks_uri, keys)
    return keys


def checked_email(provider: IdentityProvider, claims: dict[str, Any]) -> str:
    """The verified email the provider vouches for, within the district's domains."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise OidcRefused(
            "no_email",
            "Your district's sign-in service did not tell Goalpath your email address; ask "
            "your district administrator to let it share the email claim.",
        )
    email = email.strip().lower()
    if "email_verified" in claims and claims["email_verified"] is not True:
        raise OidcRefused(
            "email_unverified",
            "Your district's sign-in service has not confirmed this email address; confirm it "
            "there first, or sign in with your Goalpath email and password.",
        )
    domains = provider.domains
    domain = email.rsplit("@", 1)[1]
    hosted_domain = claims.get("hd")
    # Google Workspace names the organisation's domain in `hd`; a personal Google account
    # has none, and a Workspace can verify addresses of domains it does not own.
    needs_hosted_domain = provider.issuer in _GOOGLE_ISSUERS or hosted_domain is not None
    if domains and (
        domain not in domains
        or (
            needs_hosted_domain
            and (not isinstance(hosted_domain, str) or hosted_domain.lower() not in domains)
        )
    ):
        raise OidcRefused(
            "wrong_domain",
            f"{email} is not an address of a domain this district signs in with; sign in "
            "with your district account, or with your Goalpath email and password.",
        )
    return email


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


def domains_json(domains: list[str]) -> str:
    return json.dumps(sorted(set(domains)))
