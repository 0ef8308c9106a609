from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from goalpath.config import Settings
from goalpath.kit.client_ip import client_ip, parse_trusted_proxies, request_client_ip

PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.168.1.5, fd00::/8")


def test_parse_trusted_proxies_accepts_addresses_and_ranges() -> None:
    networks = parse_trusted_proxies(" 10.0.0.0/8,192.168.1.5 ,, 2001:db8::/32,10.1.2.3/16")
    assert [str(network) for network in networks] == [
        "10.0.0.0/8",
        "192.168.1.5/32",
        "2001:db8::/32",
        "10.1.0.0/16",
    ]
    assert parse_trusted_proxies("") == ()


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.300", "proxy.internal", "::1/129"])
def test_parse_trusted_proxies_rejects_invalid_entries(value: str) -> None:
    with pytest.raises(ValueError, match="trusted_proxies") as raised:
        parse_trusted_proxies(f"10.0.0.1, {value}")
    assert value in str(raised.value)


def test_untrusted_peer_cannot_forge_its_address() -> None:
    assert client_ip("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"
    assert client_ip("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"


def test_trusted_peer_gives_the_rightmost_untrusted_address() -> None:
    # The client forged the first entry; the proxy appended the real one.
    assert client_ip("10.0.0.2", "1.2.3.4, 203.0.113.7", PROXIES) == "203.0.113.7"


def test_chain_of_trusted_proxies_is_skipped() -> None:
    chain = "1.2.3.4, 203.0.113.7, 192.168.1.5, 10.9.9.9"
    assert client_ip("10.0.0.2", chain, PROXIES) == "203.0.113.7"


def test_all_trusted_gives_the_leftmost_entry() -> None:
    assert client_ip("10.0.0.2", "10.1.1.1, 10.2.2.2", PROXIES) == "10.1.1.1"


def test_trusted_peer_without_header_gives_the_peer() -> None:
    assert client_ip("10.0.0.2", None, PROXIES) == "10.0.0.2"
    assert client_ip("10.0.0.2", "", PROXIES) == "10.0.0.2"


def test_ipv6_addresses() -> None:
    assert client_ip("fd00::1", "2001:db8::1, fd00::2", PROXIES) == "2001:db8::1"
    assert client_ip("2001:db8::9", "198.51.100.1", PROXIES) == "2001:db8::9"
    # Spellings of one address collapse to one, so rate limits count them together.
    assert client_ip("fd00::1", "2001:DB8:0:0::1", PROXIES) == "2001:db8::1"
    # A dual-stack listener reports IPv4 peers as IPv4-mapped IPv6.
    assert client_ip("::ffff:10.0.0.2", "203.0.113.7", PROXIES) == "203.0.113.7"


def test_ports_on_entries_are_dropped() -> None:
    assert client_ip("10.0.0.2", "203.0.113.7:5123", PROXIES) == "203.0.113.7"
    assert client_ip("10.0.0.2", "[2001:db8::1]:443", PROXIES) == "2001:db8::1"


def test_malformed_entries_are_ignored() -> None:
    assert client_ip("10.0.0.2", "203.0.113.7, garbage, , 10.0.0.9", PROXIES) == "203.0.113.7"
    assert client_ip("10.0.0.2", "unknown, not-an-ip", PROXIES) == "10.0.0.2"


def test_peer_that_is_not_an_address() -> None:
    assert client_ip("testclient", "203.0.113.7", PROXIES) == "testclient"
    assert client_ip(None, "203.0.113.7", PROXIES) == "unknown"


def _request(trusted_proxies: str, peer: str, *forwarded_for: str) -> Request:
    app = FastAPI()
    app.state.settings = Settings(trusted_proxies=trusted_proxies)
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    return Request({"type": "http", "app": app, "client": (peer, 4711), "headers": headers})


def test_request_client_ip_reads_the_settings() -> None:
    assert request_client_ip(_request("10.0.0.0/8", "10.0.0.2", "203.0.113.7")) == "203.0.113.7"
    assert request_client_ip(_request("", "10.0.0.2", "203.0.113.7")) == "10.0.0.2"


def test_request_client_ip_joins_repeated_headers() -> None:
    request = _request("10.0.0.0/8", "10.0.0.2", "203.0.113.7", "10.0.0.3")
    assert request_client_ip(request) == "203.0.113.7"


def test_request_client_ip_rejects_a_bad_setting() -> None:
    with pytest.raises(ValueError, match="not-a-range"):
        request_client_ip(_request("not-a-range", "10.0.0.2"))
