"""The checks an ID token must pass before a district sign-in trusts what it says
(OpenID Connect Core 1.0, section 3.1.3.7), and the verified email it vouches for."""

from __future__ import annotations

import hmac
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError

from goalpath.auth.oidc import (
    START_AGAIN,
    OidcRefused,
    ProviderCache,
    ProviderMetadata,
    key_set,
)
from goalpath.config import Settings
from goalpath.models import IdentityProvider

# Clock difference tolerated between Goalpath and the provider, in seconds.
_LEEWAY = 60
_GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")


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
                id_token, key_set(settings, metadata, cache), algorithms=list(metadata.algorithms)
            )
        except InvalidKeyIdError:
            # A key the kept set lacks: the provider may have rotated its keys
            # (OpenID Connect Core 1.0, section 10.1.1), so the set is fetched once more.
            if cache is None or not cache.may_refetch(metadata.jwks_uri):
                raise
            keys = key_set(settings, metadata, cache, fresh=True)
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
