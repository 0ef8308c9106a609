"""The district sign-in administration pages (SPEC section 12): a district
administrator lists, registers, changes and removes the district's providers through
the same services as the API; refusals read as sentences and change nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.health_notes.crypto import HealthNoteCipher
from goalpath.models import AuditEvent, IdentityProvider
from tests.auth.test_oidc import (
    ADMIN_A,
    ADMIN_B,
    STAFF_A,
    World,
    _app,
    build_world,
)
from tests.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD

ISSUER = "https://accounts.google.com"
SECRET = "first-client-secret-5521"
TOKEN_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
INDEX = "/admin/identity-providers"
# What a refusal must never show a person: codes, types, field paths.
CODES = ("string_type", "value_error", "missing", "identity_provider", "school_district", "loc")


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return build_world(database, settings)


@pytest.fixture
def pages(
    settings: Settings, database: Database, reference_baseline: dict[str, int], clock: Clock
) -> Iterator[TestClient]:
    with TestClient(
        _app(settings, database, clock, loopback=False),
        raise_server_exceptions=False,
        follow_redirects=False,
    ) as client:
        yield client


def sign_in(client: TestClient, email: str) -> str:
    match = TOKEN_FIELD.search(client.get("/sign-in").text)
    assert match
    csrf = match.group(1)
    answer = client.post(
        "/sign-in",
        data={"email": email, "password": DEFAULT_PASSWORD, "next": "/", "csrftoken": csrf},
    )
    assert answer.status_code == 303, answer.text
    return csrf


def form(csrf: str, **values: str) -> dict[str, str]:
    return {
        "name": "Lakeside Google",
        "issuer": ISSUER,
        "client_id": "lakeside-client",
        "client_secret": SECRET,
        "allowed_domains": "lakeside.example\nstaff.lakeside.example",
        "csrftoken": csrf,
        **values,
    }


def stored(database: Database) -> list[IdentityProvider]:
    with database.session_scope() as session:
        rows = list(session.scalars(select(IdentityProvider)))
        for row in rows:
            session.expunge(row)
        return rows


def audit(database: Database, action: str) -> list[dict[str, Any]]:
    with database.session_scope() as session:
        rows = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.resource == "identity_provider", AuditEvent.action == action
            )
        ).all()
    return [json.loads(row or "{}") for row in rows]


def audit_count(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def new_path(world: World) -> str:
    return f"/admin/districts/{world.district_a}/identity-providers/new"


def register(pages: TestClient, world: World, csrf: str, **values: str) -> httpx2.Response:
    return pages.post(new_path(world), data=form(csrf, **values))


def test_an_administrator_registers_changes_and_removes_a_provider(
    pages: TestClient, world: World, database: Database, settings: Settings
) -> None:
    csrf = sign_in(pages, ADMIN_A)
    index = pages.get(INDEX)
    assert index.status_code == 200
    assert "Lakeside Unified" in index.text
    assert "Northgate" not in index.text  # another district's
    assert "No sign-in provider is registered" in index.text
    blank = pages.get(new_path(world))
    assert blank.status_code == 200
    assert 'autocomplete="new-password"' in blank.text

    created = register(pages, world, csrf, trust_mfa="yes")
    assert created.status_code == 303, created.text
    assert created.headers["location"] == INDEX
    (provider,) = stored(database)
    assert provider.id_school_district == world.district_a
    assert provider.domains == ["lakeside.example", "staff.lakeside.example"]
    assert provider.trust_mfa is True
    cipher = HealthNoteCipher.from_settings(settings)
    assert cipher.decrypt(provider.client_secret_encrypted) == SECRET
    listed = pages.get(INDEX)
    assert "Sign in with Lakeside Google" in listed.text
    assert "can now sign in with Lakeside Google" in listed.text

    edit_path = (
        f"/admin/districts/{world.district_a}/identity-providers/{provider.id_identity_provider}"
    )
    edit = pages.get(edit_path)
    assert edit.status_code == 200
    assert SECRET not in edit.text
    assert "Leave this empty to keep it" in edit.text
    # An empty secret keeps the stored one; unticking the box turns the MFA trust off.
    kept = pages.post(
        edit_path,
        data=form(
            csrf, name="Lakeside Workspace", client_secret="", allowed_domains="lakeside.example"
        ),
    )
    assert kept.status_code == 303, kept.text
    (provider,) = stored(database)
    assert provider.name == "Lakeside Workspace"
    assert provider.trust_mfa is False
    assert provider.domains == ["lakeside.example"]
    assert cipher.decrypt(provider.client_secret_encrypted) == SECRET
    assert sorted(audit(database, "update")[-1]["fields"]) == [
        "allowed_domains",
        "name",
        "trust_mfa",
    ]
    replaced = pages.post(edit_path, data=form(csrf, client_secret="second-secret-8830"))
    assert replaced.status_code == 303
    (provider,) = stored(database)
    assert cipher.decrypt(provider.client_secret_encrypted) == "second-secret-8830"
    assert "client_secret" in audit(database, "update")[-1]["fields"]

    confirm = pages.get(edit_path + "/remove")
    assert confirm.status_code == 200
    assert "Remove provider" in confirm.text
    removed = pages.post(edit_path + "/remove", data={"csrftoken": csrf})
    assert removed.status_code == 303
    assert stored(database) == []
    assert len(audit(database, "create")) == 1
    assert len(audit(database, "delete")) == 1
    assert "has been removed" in pages.get(INDEX).text
    for row in audit(database, "create") + audit(database, "update"):
        assert SECRET not in json.dumps(row)


BAD_INPUT = {
    "empty name": ({"name": ""}, "name", "Enter the name to show on the sign-in button"),
    "empty issuer": ({"issuer": "  "}, "issuer", "Enter the issuer address"),
    "http issuer": (
        {"issuer": "http://idp.lakeside.example"},
        "issuer",
        "must start with https://",
    ),
    "empty client id": ({"client_id": ""}, "client_id", "Enter the client ID"),
    "empty secret": ({"client_secret": ""}, "client_secret", "Enter the client secret"),
    "long secret": ({"client_secret": "s" * 3000}, "client_secret", "at most 2048 characters"),
    "bad domain": (
        {"allowed_domains": "lakeside.example\nnot a domain!"},
        "allowed_domains",
        "not a domain! is not a domain name",
    ),
    "many domains": (
        {"allowed_domains": "\n".join(f"d{n}.example" for n in range(60))},
        "allowed_domains",
        "List at most 50 domains",
    ),
    "odd checkbox": ({"trust_mfa": "maybe"}, "trust_mfa", "Tick the box, or leave it empty"),
    "control characters": ({"name": "Lakeside\x07Google"}, "name", "without control characters"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_shows_the_form_again_with_a_summary_and_changes_nothing(
    case: str, pages: TestClient, world: World, database: Database
) -> None:
    values, field, sentence = BAD_INPUT[case]
    csrf = sign_in(pages, ADMIN_A)
    before = audit_count(database)

    refused = register(pages, world, csrf, **values)

    assert refused.status_code == 422, refused.text
    assert "There is a problem" in refused.text
    assert f'href="#{field}"' in refused.text
    assert f'id="{field}"' in refused.text
    assert sentence in refused.text
    assert not any(f">{code}" in refused.text or f"{code}:" in refused.text for code in CODES)
    # What was typed stays, except the secret, which is never sent back.
    if case != "empty name":
        assert "Lakeside Google" in refused.text or case == "control characters"
    assert SECRET not in refused.text
    assert stored(database) == []
    assert audit_count(database) == before


def test_a_bad_change_keeps_the_provider_as_it_was(
    pages: TestClient, world: World, database: Database
) -> None:
    csrf = sign_in(pages, ADMIN_A)
    assert register(pages, world, csrf).status_code == 303
    (provider,) = stored(database)
    edit_path = (
        f"/admin/districts/{world.district_a}/identity-providers/{provider.id_identity_provider}"
    )
    refused = pages.post(
        edit_path, data=form(csrf, name="Renamed", issuer="ftp://idp.example", client_secret="")
    )
    assert refused.status_code == 422
    assert 'href="#issuer"' in refused.text
    (after,) = stored(database)
    assert after.name == "Lakeside Google"
    assert after.issuer == ISSUER
    assert audit(database, "update") == []


def test_another_districts_administrator_is_refused_in_words(
    pages: TestClient, world: World, database: Database
) -> None:
    csrf = sign_in(pages, ADMIN_A)
    assert register(pages, world, csrf).status_code == 303
    (provider,) = stored(database)
    edit_path = (
        f"/admin/districts/{world.district_a}/identity-providers/{provider.id_identity_provider}"
    )
    pages.cookies.clear()
    csrf = sign_in(pages, ADMIN_B)
    index = pages.get(INDEX)
    assert index.status_code == 200
    assert "Lakeside" not in index.text
    for answer in (
        pages.get(new_path(world)),
        pages.post(new_path(world), data=form(csrf)),
        pages.get(edit_path),
        pages.post(edit_path, data=form(csrf, name="Taken over")),
        pages.post(edit_path + "/remove", data={"csrftoken": csrf}),
        # Another district's provider under one's own district is as absent.
        pages.get(
            f"/admin/districts/{world.district_b}/identity-providers/{provider.id_identity_provider}"
        ),
    ):
        assert answer.status_code == 404, answer.text
        assert "does not exist, or you do not have access to it" in answer.text
        assert "identity_provider" not in answer.text
    (after,) = stored(database)
    assert after.name == "Lakeside Google"


def test_staff_without_the_right_are_told_who_can(
    pages: TestClient, world: World, database: Database
) -> None:
    csrf = sign_in(pages, STAFF_A)
    index = pages.get(INDEX)
    assert index.status_code == 403
    assert "your role cannot change any district" in index.text
    for answer in (pages.get(new_path(world)), pages.post(new_path(world), data=form(csrf))):
        assert answer.status_code in (403, 404)
        assert "school_district" not in answer.text and "update" not in answer.text
    assert stored(database) == []
    with database.session_scope() as session:
        denied = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.outcome == "denied", AuditEvent.id_user == world.staff_a)
        )
    assert denied


@pytest.mark.parametrize(
    "path",
    [
        "/admin/districts/abc/identity-providers/new",
        "/admin/districts/99999999999/identity-providers/new",
        "/admin/districts/1/identity-providers/-4",
        "/admin/districts/1/identity-providers/0/remove",
    ],
)
def test_addresses_that_cannot_be_records_are_pages_not_found(
    path: str, pages: TestClient, world: World
) -> None:
    sign_in(pages, ADMIN_A)
    answer = pages.get(path)
    assert answer.status_code == 404
    assert "This page does not exist" in answer.text


def test_the_forms_need_the_csrf_token_and_a_session(
    pages: TestClient, world: World, database: Database
) -> None:
    sign_in(pages, ADMIN_A)
    assert pages.post(new_path(world), data={**form(""), "csrftoken": ""}).status_code == 403
    pages.cookies.clear()
    anonymous = pages.get(INDEX)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")
    assert stored(database) == []
