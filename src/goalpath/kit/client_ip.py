"""The client's IP address, for rate limits and the audit trail.

`X-Forwarded-For` is believed only when the direct peer is a configured trusted proxy
(SPEC section 4): any client can send the header, so trusting it from anyone else would
let an attacker pick the address its requests are counted under.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN_CLIENT = "unknown"


def parse_trusted_proxies(value: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            # Host bits are allowed ("10.0.0.7/8" means 10.0.0.0/8), as in nginx's set_real_ip_from.
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ValueError(
                f"trusted_proxies: {entry!r} is not an IP address or CIDR range ({error})"
            ) from None
    return tuple(networks)


def _parse_address(text: str) -> Address | None:
    text = text.strip()
    # Some proxies append the port: "203.0.113.9:5123" or "[2001:db8::1]:443".
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; one client, one spelling.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    peer_address = _parse_address(peer) if peer else None
    if peer_address is None:
        return peer or UNKNOWN_CLIENT
    if not forwarded_for or not _is_trusted(peer_address, trusted):
        return str(peer_address)
    # Each proxy appends the address it received from, so entries left of the
    # rightmost untrusted one were written by a client and may be forged.
    chain = [address for entry in forwarded_for.split(",") if (address := _parse_address(entry))]
    for address in reversed(chain):
        if not _is_trusted(address, trusted):
            return str(address)
    return str(chain[0]) if chain else str(peer_address)


@lru_cache(maxsize=8)
def _trusted_networks(value: str) -> tuple[Network, ...]:
    return parse_trusted_proxies(value)


def request_client_ip(request: Request) -> str:
    trusted = _trusted_networks(request.app.state.settings.trusted_proxies)
    peer = request.client.host if request.client else None
    # Repeated headers are one comma-separated list (RFC 9110 section 5.3).
    forwarded_for = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return client_ip(peer, forwarded_for, trusted)


def scope_client_ip(scope: Scope, trusted_proxies: str) -> str:
    """The same answer as `request_client_ip`, from an ASGI scope (for middleware)."""
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return client_ip(peer, ",".join(forwarded) or None, _trusted_networks(trusted_proxies))
