"""District sign-in with OpenID Connect (SPEC section 12), end to end against a real
provider on loopback: PKCE, state, nonce, ID token checks, the account match, and the
identity-provider API that registers it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from goalpath.app import create_app
from goalpath.auth.oidc import ProviderCache
from goalpath.config import Settings
from goalpath.db import Database
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import (
    AuditEvent,
    IdentityProvider,
    Program,
    SchoolDistrict,
    User,
    UserProgram,
    UserSecondFactor,
    UserSession,
)
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, make_user, set_home_district
from tests.fixtures.oidc import CLIENT_ID, CLIENT_SECRET, Provider, serve_provider

STAFF_A = "casey.morgan@lakeside.example"
ADMIN_A = "dana.reyes@lakeside.example"
STAFF_B = "felix.arendt@northgate.example"
ADMIN_B = "noor.haddad@northgate.example"
CREATED = datetime(2025, 7, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    district_a: int
    district_b: int
    staff_a: int
    admin_a: int
    staff_b: int
    admin_b: int


def _district(session, name: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    district = SchoolDistrict(name=name, created_at=CREATED)
    session.add(district)
    session.flush()
    program = Program(
        id_school_district=district.id_school_district, name=f"{name} Support", created_at=CREATED
    )
    session.add(program)
    session.flush()
    return district.id_school_district, program.id_program


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return build_world(database, settings)


def build_world(database: Database, settings: Settings) -> World:
    """Two districts, each with a staff member and an administrator."""
    staff_a = make_user(database, settings, email=STAFF_A, name="Casey Morgan")
    admin_a = make_user(database, settings, email=ADMIN_A, name="Dana Reyes", role="district_admin")
    staff_b = make_user(database, settings, email=STAFF_B, name="Felix Arendt")
    admin_b = make_user(
        database, settings, email=ADMIN_B, name="Noor Haddad", role="district_admin"
    )
    with database.session_scope() as session:
        district_a, program_a = _district(session, "Lakeside Unified")
        district_b, program_b = _district(session, "Northgate County Schools")
        set_home_district(session, district_a, staff_a, admin_a)
        set_home_district(session, district_b, staff_b, admin_b)
        session.add_all(
            [
                UserProgram(id_user=admin_a, id_program=program_a, status="active"),
                UserProgram(id_user=admin_b, id_program=program_b, status="active"),
            ]
        )
    return World(district_a, district_b, staff_a, admin_a, staff_b, admin_b)


@pytest.fixture
def provider() -> Iterator[Provider]:
    with serve_provider() as running:
        yield running


def _app(settings: Settings, database: Database, clock: Clock, *, loopback: bool) -> FastAPI:
    application = create_app(
        settings.model_copy(update={"oidc_allow_insecure_loopback": loopback}), database
    )
    application.state.clock = clock
    return application


@pytest.fixture
def oidc_client(
    settings: Settings, database: Database, reference_baseline: dict[str, int], clock: Clock
) -> Iterator[TestClient]:
    with TestClient(
        _app(settings, database, clock, loopback=True),
        raise_server_exceptions=False,
        follow_redirects=False,
    ) as test_client:
        yield test_client


def _bearer(client: TestClient, email: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _register(
    client: TestClient,
    provider: Provider,
    id_district: int,
    admin_email: str,
    **overrides: object,
) -> int:
    body: dict[str, object] = {
        "name": "Lakeside Google",
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "allowed_domains": ["lakeside.example"],
        "trust_mfa": False,
        **overrides,
    }
    response = client.post(
        f"/api/v1/districts/{id_district}/identity-providers",
        json=body,
        headers=_bearer(client, admin_email),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id_identity_provider"])


def _sign_in(client: TestClient, id_provider: int, *, tamper_state: bool = False):  # type: ignore[no-untyped-def]
    """Leave for the provider, let it answer as a browser would see it, come back."""
    start = client.get(f"/sign-in/oidc/{id_provider}")
    assert start.status_code == 303, start.text
    at_provider = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/sign-in/oidc/callback"
    query = back.query
    if tamper_state:
        params = parse_qs(query)
        query = f"code={params['code'][0]}&state=forged-{params['state'][0][:10]}"
    client.cookies.delete("goalpath_session")
    return client.get(f"{back.path}?{query}")


def _counts(database: Database) -> tuple[int, int]:
    with database.session_scope() as session:
        return (
            session.scalar(select(func.count()).select_from(User)) or 0,
            session.scalar(select(func.count()).select_from(UserSession)) or 0,
        )


def _failures(database: Database) -> list[dict[str, object]]:
    with database.session_scope() as session:
        rows = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "login.failed", AuditEvent.outcome == "failed"
            )
        ).all()
    return [json.loads(row or "{}") for row in rows]


def test_an_account_of_the_district_signs_in_and_reaches_me(
    oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    page = oidc_client.get("/sign-in")
    assert "Sign in with Lakeside Google" in page.text
    assert f'href="/sign-in/oidc/{id_provider}"' in page.text
    provider.sign_in_as(STAFF_A.upper())

    answer = _sign_in(oidc_client, id_provider)

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/"
    me = oidc_client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == STAFF_A
    # PKCE with S256, and the nonce and state the app chose, went to the provider.
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256"
    assert asked["nonce"] and asked["state"] and asked["scope"].split()[0] == "openid"
    assert asked["redirect_uri"] == "http://127.0.0.1:8000/sign-in/oidc/callback"
    assert len(provider.token_requests[-1]["code_verifier"]) >= 43
    with database.session_scope() as session:
        details = session.scalar(
            select(AuditEvent.details).where(
                AuditEvent.action == "login.succeeded", AuditEvent.id_user == world.staff_a
            )
        )
    assert json.loads(details or "{}")["method"] == "oidc"


REFUSALS = {
    "unknown_account": ({"email": "nobody@lakeside.example"}, "No Goalpath account"),
    "wrong_domain": ({"email": "casey.morgan@gmail.example"}, "is not an address of a domain"),
    "email_unverified": ({"email_verified": False}, "has not confirmed this email"),
    "other_district": ({"email": STAFF_B}, "No Goalpath account of Lakeside Unified"),
    "bad_nonce": ({"nonce": "not-the-nonce-goalpath-sent"}, "start again"),
    "token_expired": ({"expired": True}, "start again"),
    "bad_signature": ({"stranger_key": True}, "start again"),
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_refused_sign_ins_create_nothing_and_say_what_to_do(
    reason: str, oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    tweak, sentence = REFUSALS[reason]
    # With no domain limit, an account of another district meets the account match.
    domains = [] if reason == "other_district" else ["lakeside.example"]
    id_provider = _register(
        oidc_client, provider, world.district_a, ADMIN_A, allowed_domains=domains
    )
    claims = {key: value for key, value in tweak.items() if key in ("email_verified",)}
    provider.sign_in_as(str(tweak.get("email", STAFF_A)), **claims)
    provider.nonce_override = tweak.get("nonce")  # type: ignore[assignment]
    if tweak.get("expired"):
        provider.lifetime_seconds = -600
    provider.sign_with_stranger_key = bool(tweak.get("stranger_key"))
    before = _counts(database)

    answer = _sign_in(oidc_client, id_provider)

    assert answer.status_code == 401, answer.text
    assert sentence in answer.text
    assert "goalpath_session" not in answer.headers.get("set-cookie", "")
    assert _counts(database) == before
    assert oidc_client.get("/api/v1/auth/me").status_code == 401
    assert [failure["reason"] for failure in _failures(database)] == [reason]


def test_a_forged_or_missing_state_is_refused(
    oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    provider.sign_in_as(STAFF_A)
    before = _counts(database)

    forged = _sign_in(oidc_client, id_provider, tamper_state=True)
    assert forged.status_code == 400
    assert "start again" in forged.text
    # No flow cookie at all: a callback the browser did not start here.
    oidc_client.cookies.clear()
    stray = oidc_client.get("/sign-in/oidc/callback?code=abc&state=def")
    assert stray.status_code == 400

    assert _counts(database) == before
    assert provider.token_requests == []  # the code was never exchanged
    assert [failure["reason"] for failure in _failures(database)] == ["bad_state", "bad_state"]


def test_another_districts_provider_does_not_sign_in_this_districts_staff(
    oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    id_provider_b = _register(
        oidc_client,
        provider,
        world.district_b,
        ADMIN_B,
        name="Northgate Entra",
        allowed_domains=[],
    )
    provider.sign_in_as(STAFF_A)
    before = _counts(database)

    answer = _sign_in(oidc_client, id_provider_b)

    assert answer.status_code == 401
    assert "No Goalpath account of Northgate County Schools" in answer.text
    assert _counts(database) == before
    assert [failure["reason"] for failure in _failures(database)] == ["other_district"]
    narrowed = oidc_client.get(f"/sign-in?district={world.district_a}")
    assert "Sign in with Northgate Entra" not in narrowed.text
    assert "Sign in with Northgate Entra" in oidc_client.get("/sign-in").text


def test_a_deactivated_account_is_refused(
    oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    with database.session_scope() as session:
        session.execute(
            update(User).where(User.id_user == world.staff_a).values(deactivated_at=CREATED)
        )
    provider.sign_in_as(STAFF_A)
    before = _counts(database)

    answer = _sign_in(oidc_client, id_provider)

    assert answer.status_code == 401
    assert "has been turned off" in answer.text
    assert _counts(database) == before


def enrol_directly(database: Database, settings: Settings, id_user: int) -> str:
    """A confirmed authenticator app for the account, as if set up on its page."""
    secret = pyotp.random_base32()
    with database.session_scope() as session:
        session.add(
            UserSecondFactor(
                id_user=id_user,
                secret_encrypted=HealthNoteCipher.from_settings(settings).encrypt(secret),
                created_at=CREATED,
                confirmed_at=CREATED,
            )
        )
    return secret


def _wrong_code(secret: str, clock: Clock) -> str:
    near = {pyotp.TOTP(secret).at(clock.now, counter_offset=offset) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222") if code not in near)


def _enter_code(client: TestClient, code: str) -> Any:
    """The code page a password sign-in also ends on, with its own form's CSRF token."""
    form = client.get("/sign-in/code")
    assert form.status_code == 200, form.text
    assert 'autocomplete="one-time-code"' in form.text
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
    assert token is not None
    return client.post("/sign-in/code", data={"code": code, "csrftoken": token.group(1)})


def test_an_enrolled_account_passes_the_code_step_unless_the_providers_mfa_counts(
    oidc_client: TestClient,
    provider: Provider,
    world: World,
    database: Database,
    settings: Settings,
    clock: Clock,
) -> None:
    secret = enrol_directly(database, settings, world.staff_a)
    untrusted = _register(oidc_client, provider, world.district_a, ADMIN_A)
    trusted = _register(oidc_client, provider, world.district_a, ADMIN_A, trust_mfa=True)
    oidc_client.cookies.clear()

    # The provider says MFA, but this registration does not count it: the code step.
    provider.sign_in_as(STAFF_A, amr=["pwd", "mfa"])
    sessions_before = _counts(database)[1]
    asked = _sign_in(oidc_client, untrusted)
    assert asked.status_code == 303, asked.text
    assert asked.headers["location"] == "/sign-in/code"
    assert "goalpath_session" not in asked.headers.get("set-cookie", "")
    # Lax: the browser arrives by a redirect chain that began at the provider's site.
    challenge_cookie = next(
        header
        for header in asked.headers.get_list("set-cookie")
        if header.startswith("goalpath_sign_in_challenge=")
    )
    for attribute in ("httponly", "samesite=lax", "path=/sign-in/code", "max-age=300"):
        assert attribute in challenge_cookie.lower()
    assert _counts(database)[1] == sessions_before
    assert oidc_client.get("/api/v1/auth/me").status_code == 401
    wrong = _enter_code(oidc_client, _wrong_code(secret, clock))
    assert wrong.status_code == 401
    assert _counts(database)[1] == sessions_before
    done = _enter_code(oidc_client, pyotp.TOTP(secret).at(clock.now))
    assert done.status_code == 303, done.text
    assert oidc_client.get("/api/v1/auth/me").json()["email"] == STAFF_A
    with database.session_scope() as session:
        required = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "login.second_factor_required")
        ).all()
    assert [json.loads(row or "{}")["method"] for row in required] == ["oidc"]

    # A registration that counts the provider's MFA, but a token without it: the code step.
    oidc_client.cookies.clear()
    provider.sign_in_as(STAFF_A, amr=["pwd"])
    assert _sign_in(oidc_client, trusted).headers["location"] == "/sign-in/code"
    assert oidc_client.get("/api/v1/auth/me").status_code == 401

    # Counted, and shown in the token's amr: straight in, no code asked.
    oidc_client.cookies.clear()
    provider.sign_in_as(STAFF_A, amr=["pwd", "mfa"])
    straight = _sign_in(oidc_client, trusted)
    assert straight.status_code == 303
    assert straight.headers["location"] == "/"
    assert oidc_client.get("/api/v1/auth/me").json()["email"] == STAFF_A
    with database.session_scope() as session:
        last = session.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == "login.succeeded", AuditEvent.id_user == world.staff_a)
            .order_by(AuditEvent.id_audit_event.desc())
        ).first()
    assert json.loads(last or "{}")["second_factor"] == "provider_mfa"


def test_the_client_secret_is_never_answered_nor_stored_in_plain_text(
    oidc_client: TestClient,
    provider: Provider,
    world: World,
    database: Database,
    settings: Settings,
) -> None:
    headers = _bearer(oidc_client, ADMIN_A)
    base = f"/api/v1/districts/{world.district_a}/identity-providers"
    created = oidc_client.post(
        base,
        json={
            "name": "Lakeside Google",
            "issuer": provider.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "allowed_domains": ["Lakeside.Example"],
        },
        headers=headers,
    )
    assert created.status_code == 201
    id_provider = created.json()["id_identity_provider"]
    assert created.json()["allowed_domains"] == ["lakeside.example"]
    patched = oidc_client.patch(
        f"{base}/{id_provider}", json={"client_secret": "rotated-secret-4411"}, headers=headers
    )
    answers = [
        created,
        patched,
        oidc_client.get(base, headers=headers),
        oidc_client.get(f"{base}/{id_provider}", headers=headers),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert CLIENT_SECRET not in answer.text and "rotated-secret-4411" not in answer.text
        assert "client_secret" not in answer.text
    with database.session_scope() as session:
        stored = session.scalars(select(IdentityProvider)).one()
        audit = session.scalars(
            select(AuditEvent.details).where(AuditEvent.resource == "identity_provider")
        ).all()
    assert "rotated-secret-4411" not in stored.client_secret_encrypted
    cipher = HealthNoteCipher.from_settings(settings)
    assert cipher.decrypt(stored.client_secret_encrypted) == "rotated-secret-4411"
    assert all(CLIENT_SECRET not in (row or "") for row in audit)
    assert json.loads(audit[-1] or "{}")["fields"] == ["client_secret"]
    assert oidc_client.delete(f"{base}/{id_provider}", headers=headers).status_code == 204


def test_only_who_may_update_the_district_manages_its_providers(
    oidc_client: TestClient, provider: Provider, world: World
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    base = f"/api/v1/districts/{world.district_a}/identity-providers"
    other_admin = _bearer(oidc_client, ADMIN_B)
    assert oidc_client.get(base, headers=other_admin).status_code == 404
    assert oidc_client.get(f"{base}/{id_provider}", headers=other_admin).status_code == 404
    staff = _bearer(oidc_client, STAFF_A)
    assert oidc_client.get(base, headers=staff).status_code in (403, 404)
    assert oidc_client.delete(f"{base}/{id_provider}", headers=staff).status_code in (403, 404)


@pytest.mark.parametrize(
    ("issuer", "loopback", "status"),
    [
        ("http://idp.lakeside.example", True, 422),
        ("http://127.0.0.1:9", True, 201),
        ("http://127.0.0.1:9", False, 422),
        ("https://accounts.google.com", False, 201),
    ],
)
def test_an_http_issuer_is_refused_unless_loopback_and_allowed(
    issuer: str,
    loopback: bool,
    status: int,
    settings: Settings,
    database: Database,
    reference_baseline: dict[str, int],
    clock: Clock,
    world: World,
) -> None:
    with TestClient(
        _app(settings, database, clock, loopback=loopback), raise_server_exceptions=False
    ) as client:
        response = client.post(
            f"/api/v1/districts/{world.district_a}/identity-providers",
            json={
                "name": "Provider",
                "issuer": issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            headers=_bearer(client, ADMIN_A),
        )
    assert response.status_code == status, response.text
    if status == 422:
        assert "issuer" in response.text


# -- discovery and keys, fetched once ------------------------------------------------


def test_discovery_and_keys_are_fetched_once_for_many_sign_ins(
    oidc_client: TestClient, provider: Provider, world: World
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    provider.sign_in_as(STAFF_A)
    for _ in range(3):
        assert _sign_in(oidc_client, id_provider).status_code == 303
    assert provider.discovery_requests == 1
    assert provider.jwks_requests == 1
    assert len(provider.token_requests) == 3


def test_a_rotated_key_is_fetched_once_and_then_kept(
    oidc_client: TestClient, provider: Provider, world: World
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    provider.sign_in_as(STAFF_A)
    assert _sign_in(oidc_client, id_provider).status_code == 303
    assert provider.jwks_requests == 1

    provider.rotate_key("test-key-2")
    rotated = _sign_in(oidc_client, id_provider)
    assert rotated.status_code == 303, rotated.text
    assert provider.jwks_requests == 2
    for _ in range(2):
        assert _sign_in(oidc_client, id_provider).status_code == 303
    assert provider.jwks_requests == 2
    assert provider.discovery_requests == 1


def test_a_key_the_provider_never_publishes_costs_one_refetch_not_one_per_sign_in(
    oidc_client: TestClient, provider: Provider, world: World, database: Database
) -> None:
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    provider.sign_in_as(STAFF_A)
    provider.unpublished_kid = "never-published"
    before = _counts(database)
    for _ in range(3):
        refused = _sign_in(oidc_client, id_provider)
        assert refused.status_code == 401
        assert "start again" in refused.text
    # The first sign-in fetched the set and, for the unknown key, once more.
    assert provider.jwks_requests == 2
    assert _counts(database) == before
    assert [failure["reason"] for failure in _failures(database)] == ["bad_signature"] * 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_keeps_entries_for_a_bounded_time_and_number() -> None:
    clock = FakeClock()
    cache = ProviderCache(lifetime=60, entries=3, refetch_after=30, clock=clock)
    for number in range(5):
        cache.put("discovery", f"https://idp{number}.example", number)
    assert len(cache) == 3
    assert cache.get("discovery", "https://idp0.example") is None
    assert cache.get("discovery", "https://idp4.example") == 4
    # Reading one keeps it: the least recently used goes first.
    cache.get("discovery", "https://idp2.example")
    cache.put("jwks", "https://idp5.example/jwks", 5)
    assert cache.get("discovery", "https://idp2.example") == 2
    assert cache.get("discovery", "https://idp3.example") is None
    clock.now += 60
    assert cache.get("discovery", "https://idp2.example") is None
    assert cache.may_refetch("https://idp5.example/jwks")
    assert not cache.may_refetch("https://idp5.example/jwks")
    clock.now += 30
    assert cache.may_refetch("https://idp5.example/jwks")


def test_discovery_is_fetched_again_once_the_lifetime_ends(
    oidc_client: TestClient, provider: Provider, world: World
) -> None:
    clock = FakeClock()
    oidc_client.app.state.oidc_cache = ProviderCache(lifetime=300, clock=clock)  # type: ignore[attr-defined]
    id_provider = _register(oidc_client, provider, world.district_a, ADMIN_A)
    provider.sign_in_as(STAFF_A)
    assert _sign_in(oidc_client, id_provider).status_code == 303
    clock.now += 301
    assert _sign_in(oidc_client, id_provider).status_code == 303
    assert provider.discovery_requests == 2
    assert provider.jwks_requests == 2


# -- rate limits ---------------------------------------------------------------------


def test_the_start_and_the_callback_count_toward_the_sign_in_limit(
    settings: Settings,
    database: Database,
    reference_baseline: dict[str, int],
    clock: Clock,
    provider: Provider,
    world: World,
) -> None:
    with TestClient(
        _app(settings, database, clock, loopback=True),
        raise_server_exceptions=False,
        follow_redirects=False,
    ) as setup:
        id_provider = _register(setup, provider, world.district_a, ADMIN_A)
    limited = settings.model_copy(
        update={"oidc_allow_insecure_loopback": True, "rate_limit_login_ip": "3/minute"}
    )
    application = create_app(limited, database)
    application.state.clock = clock
    with TestClient(application, raise_server_exceptions=False, follow_redirects=False) as client:
        provider.sign_in_as(STAFF_A)
        assert _sign_in(client, id_provider).status_code == 303  # start and callback: 2
        assert client.get(f"/sign-in/oidc/{id_provider}").status_code == 303  # 3
        started = len(provider.authorize_requests)
        refused = client.get(f"/sign-in/oidc/{id_provider}")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many" in refused.text or "too many" in refused.text
        assert oidc_flow_cookie(refused) is None
        callback = client.get("/sign-in/oidc/callback?code=abc&state=def")
        assert callback.status_code == 429
        assert int(callback.headers["Retry-After"]) > 0
    assert provider.discovery_requests == 1
    assert len(provider.authorize_requests) == started


def oidc_flow_cookie(response: Any) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("goalpath_oidc=") and "Max-Age=0" not in header:
            return str(header)
    return None
