"""District sign-in with OpenID Connect (SPEC section 12): the refusal every step of it
raises, the rules for a provider's registered settings, and what a provider publishes,
its discovery document and key set (JWKS), cached per issuer.

The sign-in itself (authorization code flow with PKCE, state and nonce) is
`auth.oidc_sign_in`; the checks an ID token must pass are `auth.oidc_tokens`.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from goalpath.config import Settings
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import IdentityProvider

# Asymmetric algorithms only: an HMAC-signed ID token would be keyed with the client
# secret, which Goalpath stores and so could have forged itself.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
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


def key_set(
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


def domains_json(domains: list[str]) -> str:
    return json.dumps(sorted(set(domains)))
