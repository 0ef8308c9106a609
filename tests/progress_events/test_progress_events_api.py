"""/students/{id}/progress-events and /progress-events/{id}: sensitive events hidden
from everyone without read_sensitive, stable keyset pages, ETags and the matrix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, insert, select

from goalpath.config import Settings
from goalpath.db import Database
from goalpath.kit.etag import etag_for
from goalpath.models import Goal, ProgressEvent
from tests.conftest import Clock
from tests.fixtures import demo
from tests.fixtures.statements import count_statements
from tests.health_notes.support import (
    API,
    assigned,
    audit_rows,
    forged_cursor,
    headers_for,
    other_district,
    shared_student,
    sign_in_other,
)

Json = dict[str, Any]


@pytest.fixture
def staff(database: Database, settings: Settings) -> demo.DemoStaff:
    return demo.load(database, settings)


@pytest.fixture
def shared(database: Database, staff: demo.DemoStaff) -> int:
    """A student both the first case manager and the first counselor are assigned to."""
    return shared_student(database, staff.first("case_manager"), staff.first("counselor"))


def create_event(client: TestClient, headers: dict[str, str], id_student: int, **body: Any) -> Json:
    body.setdefault("content", "Read 42 words per minute, 3 of 4 trials.")
    response = client.post(
        f"{API}/students/{id_student}/progress-events", headers=headers, json=body
    )
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


def every_page(
    client: TestClient, headers: dict[str, str], id_student: int, **params: Any
) -> list[Json]:
    items: list[Json] = []
    cursor = None
    while True:
        response = client.get(
            f"{API}/students/{id_student}/progress-events",
            headers=headers,
            params={**params, **({"cursor": cursor} if cursor else {})},
        )
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def count(client: TestClient, headers: dict[str, str], id_student: int, **params: Any) -> int:
    response = client.get(
        f"{API}/students/{id_student}/progress-events/count", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


def goals_of(database: Database, id_student: int) -> list[int]:
    with database.session_scope() as session:
        return list(
            session.scalars(
                select(Goal.id_goal).where(Goal.id_student == id_student).order_by(Goal.id_goal)
            )
        )


def test_sensitive_events_are_absent_for_users_without_read_sensitive(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    case_manager = headers_for(client, settings, staff, "case_manager")
    sensitive = create_event(
        client, counselor, shared, content="Disclosed a conflict at home.", is_sensitive=True
    )
    assert sensitive["is_sensitive"] is True
    item = f"{API}/progress-events/{sensitive['id_progress_event']}"

    everything = every_page(client, counselor, shared, limit=200)
    hidden = {event["id_progress_event"] for event in everything if event["is_sensitive"]}
    assert sensitive["id_progress_event"] in hidden

    seen = every_page(client, case_manager, shared, limit=200)
    assert seen and not any(event["is_sensitive"] for event in seen)
    assert not hidden & {event["id_progress_event"] for event in seen}
    assert len(seen) == len(everything) - len(hidden)
    assert every_page(client, case_manager, shared, is_sensitive="true") == []
    assert count(client, case_manager, shared) == len(seen)
    assert count(client, case_manager, shared, is_sensitive="true") == 0
    assert count(client, counselor, shared) == len(everything)
    assert count(client, counselor, shared, is_sensitive="true") == len(hidden)
    assert count(client, counselor, shared, is_sensitive="false") == len(seen)

    assert client.get(item, headers=case_manager).status_code == 404
    assert client.patch(item, headers=case_manager, json={"content": "x"}).status_code == 404
    assert client.delete(item, headers=case_manager).status_code == 404
    refused = client.post(
        f"{API}/students/{shared}/progress-events",
        headers=case_manager,
        json={"content": "Should stay unwritten.", "is_sensitive": True},
    )
    assert refused.status_code == 403
    assert count(client, counselor, shared) == len(everything)

    # Roles with wide reads but no read_sensitive do not see them either.
    for role in ("district_admin", "program_coordinator"):
        headers = headers_for(client, settings, staff, role)
        assert client.get(item, headers=headers).status_code == 404, role
        assert count(client, headers, shared, is_sensitive="true") == 0, role

    assert client.get(item, headers=counselor).status_code == 200
    admin = headers_for(client, settings, staff, "system_admin")
    assert client.get(item, headers=admin).json()["is_sensitive"] is True


def test_only_holders_of_read_sensitive_flag_or_unflag(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    case_manager = headers_for(client, settings, staff, "case_manager")
    theirs = create_event(client, case_manager, shared, content="Ordinary event.")
    url = f"{API}/progress-events/{theirs['id_progress_event']}"

    flagged = client.patch(url, headers=case_manager, json={"is_sensitive": True})
    assert flagged.status_code == 403
    assert "sensitive" in flagged.json()["detail"]
    assert client.get(url, headers=case_manager).json()["is_sensitive"] is False
    # Saying what is already so is not a change, and needs no right.
    same = client.patch(url, headers=case_manager, json={"is_sensitive": False, "content": "Edit."})
    assert same.status_code == 200
    assert same.json()["content"] == "Edit."

    # The counselor may read sensitive events but update only her own.
    assert client.patch(url, headers=counselor, json={"is_sensitive": True}).status_code == 403

    mine = create_event(client, counselor, shared, content="Counselor's event.")
    mine_url = f"{API}/progress-events/{mine['id_progress_event']}"
    marked = client.patch(mine_url, headers=counselor, json={"is_sensitive": True})
    assert marked.status_code == 200, marked.text
    assert marked.json()["is_sensitive"] is True
    assert client.get(mine_url, headers=case_manager).status_code == 404
    cleared = client.patch(mine_url, headers=counselor, json={"is_sensitive": False})
    assert cleared.status_code == 200
    assert client.get(mine_url, headers=case_manager).json()["is_sensitive"] is False

    denied = audit_rows(
        database, id_user=staff.first("case_manager"), outcome="denied", action="update"
    )
    assert [json.loads(row.details or "{}")["reason"] for row in denied] == ["sensitive_flag"]


def test_keyset_pages_are_stable_under_concurrent_inserts(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    shared: int,
    clock: Clock,
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    before = every_page(client, counselor, shared, limit=200)
    assert len(before) > 25
    url = f"{API}/students/{shared}/progress-events"

    first = client.get(url, headers=counselor, params={"limit": 10})
    assert first.status_code == 200
    page_one = first.json()["items"]
    cursor = first.json()["next_cursor"]
    assert [event["id_progress_event"] for event in page_one] == [
        event["id_progress_event"] for event in before[:10]
    ]

    # Meanwhile: new events through the API, one stamped exactly like the last row served
    # (a tie the id must break), and one back-dated into the pages still to come.
    clock.advance(minutes=5)
    fresh = [create_event(client, counselor, shared)["id_progress_event"] for _ in range(3)]
    tie_at = datetime.fromisoformat(page_one[-1]["created_at"])
    backdated_at = datetime.fromisoformat(before[20]["created_at"]) + timedelta(seconds=1)
    with database.session_scope() as session:
        tie, backdated = (
            session.execute(
                insert(ProgressEvent).returning(ProgressEvent.id_progress_event),
                [
                    {
                        "id_student": shared,
                        "content": "Logged at the same moment.",
                        "is_sensitive": False,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                ],
            ).scalar_one()
            for stamp in (tie_at, backdated_at)
        )

    rest: list[Json] = []
    while cursor:
        response = client.get(url, headers=counselor, params={"limit": 10, "cursor": cursor})
        assert response.status_code == 200
        rest += response.json()["items"]
        cursor = response.json()["next_cursor"]

    served = [event["id_progress_event"] for event in page_one + rest]
    assert len(served) == len(set(served)), "an event was served twice"
    assert {event["id_progress_event"] for event in before} <= set(served), "an event was skipped"
    assert not set(fresh) & set(served) and tie not in served
    assert backdated in [event["id_progress_event"] for event in rest]
    keys = [(event["created_at"], event["id_progress_event"]) for event in page_one + rest]
    as_time = [(datetime.fromisoformat(stamp), number) for stamp, number in keys]
    assert as_time == sorted(as_time, reverse=True)


def test_list_and_count_issue_the_same_statements_whatever_the_page_size(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    # The newest event is sensitive, so both page sizes write the one audit row.
    create_event(client, counselor, shared, is_sensitive=True)
    for role in ("case_manager", "counselor", "district_admin"):
        headers = headers_for(client, settings, staff, role)
        counts = []
        for limit in (1, 50):
            with count_statements(database.engine) as log:
                response = client.get(
                    f"{API}/students/{shared}/progress-events",
                    headers=headers,
                    params={"limit": limit, "created_from": "2025-01-01T00:00:00Z"},
                )
            assert response.status_code == 200
            assert len(response.json()["items"]) == limit
            counts.append(log.count)
        assert counts[0] == counts[1], role


def test_filters_by_goal_time_and_sensitivity(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    everything = every_page(client, counselor, shared, limit=200)
    goal = next(event["id_goal"] for event in everything if event["id_goal"])
    by_goal = every_page(client, counselor, shared, id_goal=goal)
    assert by_goal and {event["id_goal"] for event in by_goal} == {goal}
    assert len(by_goal) == sum(1 for event in everything if event["id_goal"] == goal)

    newest = datetime.fromisoformat(everything[5]["created_at"])
    oldest = datetime.fromisoformat(everything[15]["created_at"])
    window = every_page(
        client,
        counselor,
        shared,
        created_from=oldest.isoformat(),
        created_to=newest.isoformat(),
    )
    expected = [
        event["id_progress_event"]
        for event in everything
        if oldest <= datetime.fromisoformat(event["created_at"]) <= newest
    ]
    assert [event["id_progress_event"] for event in window] == expected
    assert len(expected) >= 11
    # Without an offset the time is UTC; another offset names the same instant.
    naive = newest.astimezone(UTC).replace(tzinfo=None).isoformat()
    shifted = newest.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert shifted.endswith("-05:00")
    assert count(client, counselor, shared, created_to=naive) == count(
        client, counselor, shared, created_to=shifted
    )
    assert count(client, counselor, shared, created_to=naive) == len(everything) - 5

    not_sensitive = every_page(client, counselor, shared, is_sensitive="false")
    assert not any(event["is_sensitive"] for event in not_sensitive)

    url = f"{API}/students/{shared}/progress-events"
    for params in (
        {"created_from": newest.isoformat(), "created_to": oldest.isoformat()},
        {"created_from": "yesterday"},
        {"created_from": "0001-01-01T00:00:00+01:00"},
        {"is_sensitive": "perhaps"},
        {"id_goal": 0},
        {"cursor": "garbage"},
        {"cursor": forged_cursor(["x", "y"])},
        {"cursor": forged_cursor([{"t": 5}, 1])},
        {"cursor": forged_cursor([{"t": "2026-01-01T00:00:00"}, 1])},
        {"cursor": forged_cursor([{"t": "2026-01-01T00:00:00+00:00"}, 2**70])},
        {"cursor": forged_cursor([{"t": "2026-01-01T00:00:00+00:00"}, True])},
    ):
        response = client.get(url, headers=counselor, params=params)
        assert response.status_code == 422, (params, response.text)
    far = client.get(
        url,
        headers=counselor,
        params={"created_from": "1000-01-01T00:00:00Z", "created_to": "9999-12-31T00:00:00Z"},
    )
    assert far.status_code == 200
    assert len(far.json()["items"]) == min(50, len(everything))


def test_create_sets_server_times_and_checks_the_goal(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    shared: int,
    clock: Clock,
) -> None:
    case_manager = headers_for(client, settings, staff, "case_manager")
    goal = goals_of(database, shared)[0]
    other_student = next(s for s in assigned(database, staff.first("case_manager")) if s != shared)
    foreign_goal = goals_of(database, other_student)[0]
    url = f"{API}/students/{shared}/progress-events"

    response = client.post(
        url, headers=case_manager, json={"content": "Met 4 of 5.", "id_goal": goal}
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["id_goal"] == goal
    assert event["is_sensitive"] is False
    assert event["id_user_created"] == staff.first("case_manager")
    assert datetime.fromisoformat(event["created_at"]) == clock.now
    assert event["updated_at"] == event["created_at"]
    assert response.headers["ETag"] == etag_for(
        "progress_event", event["id_progress_event"], clock.now
    )
    created = audit_rows(database, action="create", resource="progress_event")
    assert json.loads(created[-1].details or "{}") == {"fields": ["content", "id_goal"]}

    with database.session_scope() as session:
        before = session.scalar(select(func.count()).select_from(ProgressEvent))
    for body in (
        {"content": "x", "id_goal": foreign_goal},
        {"content": "x", "id_goal": 2**31 - 1},
        {"content": "x", "id_goal": 0},
        {"content": "x", "is_sensitive": "true"},
        {"content": "x", "created_at": "2020-01-01T00:00:00Z"},
        {"content": "x", "id_user_created": 1},
        {"content": ""},
        {"content": " \t "},
        {"content": "x" * 10_001},
        {"content": "nul\u0000"},
        {"id_goal": goal},
    ):
        refused = client.post(url, headers=case_manager, json=body)
        assert refused.status_code == 422, (body, refused.text)
    foreign = client.post(url, headers=case_manager, json={"content": "x", "id_goal": foreign_goal})
    assert foreign.json()["errors"][0]["field"] == "id_goal"
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ProgressEvent)) == before
    longest = create_event(client, case_manager, shared, content="\U0001f4d8" * 10_000)
    assert len(longest["content"]) == 10_000


def test_patch_uses_etags_and_refuses_stale_changes(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    shared: int,
    clock: Clock,
) -> None:
    case_manager = headers_for(client, settings, staff, "case_manager")
    goals = goals_of(database, shared)
    event = create_event(client, case_manager, shared, id_goal=goals[0])
    url = f"{API}/progress-events/{event['id_progress_event']}"
    read = client.get(url, headers=case_manager)
    first_tag = read.headers["ETag"]
    assert read.json() == event

    changed = client.patch(
        url,
        headers={**case_manager, "If-Match": first_tag},
        json={"content": "Met 5 of 5.", "id_goal": goals[1]},
    )
    assert changed.status_code == 200, changed.text
    second_tag = changed.headers["ETag"]
    assert second_tag != first_tag
    assert changed.json()["id_goal"] == goals[1]
    # Same clock tick: updated_at still moves, so the ETag does.
    assert changed.json()["updated_at"] != event["updated_at"]
    assert changed.json()["created_at"] == event["created_at"]

    stale = client.patch(
        url, headers={**case_manager, "If-Match": first_tag}, json={"content": "Lost?"}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=case_manager).json()["content"] == "Met 5 of 5."

    clock.advance(seconds=30)
    unlinked = client.patch(
        url, headers={**case_manager, "If-Match": second_tag}, json={"id_goal": None}
    )
    assert unlinked.status_code == 200
    assert unlinked.json()["id_goal"] is None
    assert datetime.fromisoformat(unlinked.json()["updated_at"]) == clock.now

    other_student = next(s for s in assigned(database, staff.first("case_manager")) if s != shared)
    moved = client.patch(
        url, headers=case_manager, json={"id_goal": goals_of(database, other_student)[0]}
    )
    assert moved.status_code == 422
    for body in ({"content": None}, {"is_sensitive": None}, {"id_student": other_student}):
        assert client.patch(url, headers=case_manager, json=body).status_code == 422, body

    updates = audit_rows(database, action="update", resource="progress_event", outcome="allowed")
    assert [json.loads(row.details or "{}")["fields"] for row in updates] == [
        ["content", "id_goal"],
        ["id_goal"],
    ]
    assert all("Met" not in (row.details or "") for row in updates)


def test_update_and_delete_follow_the_matrix(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    case_manager = headers_for(client, settings, staff, "case_manager")
    counselor = headers_for(client, settings, staff, "counselor")
    coordinator = headers_for(client, settings, staff, "program_coordinator")
    district_admin = headers_for(client, settings, staff, "district_admin")
    event = create_event(client, case_manager, shared)
    url = f"{API}/progress-events/{event['id_progress_event']}"

    # The nurse reads the student (program scope) but holds no progress-event right.
    nurse = headers_for(client, settings, staff, "nurse")
    assert client.get(url, headers=nurse).status_code == 404
    assert client.get(f"{API}/students/{shared}/progress-events", headers=nurse).status_code == 403

    # Readable by all of them; `own` lets only the author change it among these roles.
    for headers in (counselor, coordinator):
        assert client.get(url, headers=headers).status_code == 200
        assert client.patch(url, headers=headers, json={"content": "Not mine."}).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    assert (
        client.patch(url, headers=district_admin, json={"content": "Corrected."}).status_code == 200
    )
    assert client.patch(url, headers=case_manager, json={"content": "Mine."}).status_code == 200

    coordinator_event = create_event(client, coordinator, shared)
    coordinator_url = f"{API}/progress-events/{coordinator_event['id_progress_event']}"
    assert client.delete(coordinator_url, headers=case_manager).status_code == 403
    assert client.delete(coordinator_url, headers=coordinator).status_code == 204

    assert client.delete(url, headers=case_manager).status_code == 204
    assert client.get(url, headers=case_manager).status_code == 404
    deletes = audit_rows(database, action="delete", resource="progress_event", outcome="allowed")
    assert [row.record_id for row in deletes] == [
        str(coordinator_event["id_progress_event"]),
        str(event["id_progress_event"]),
    ]
    assert all(row.id_student == shared for row in deletes)


def test_reading_a_sensitive_event_is_audited(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    counselor = headers_for(client, settings, staff, "counselor")
    sensitive = create_event(client, counselor, shared, is_sensitive=True)
    plain = create_event(client, counselor, shared)
    mine = {"id_user": staff.first("counselor"), "resource": "progress_event", "action": "read"}

    client.get(f"{API}/progress-events/{plain['id_progress_event']}", headers=counselor)
    assert audit_rows(database, **mine) == []
    client.get(f"{API}/progress-events/{sensitive['id_progress_event']}", headers=counselor)
    reads = audit_rows(database, **mine)
    assert [(row.record_id, row.id_student) for row in reads] == [
        (str(sensitive["id_progress_event"]), shared)
    ]

    page = client.get(f"{API}/students/{shared}/progress-events", headers=counselor).json()
    shown = [e["id_progress_event"] for e in page["items"] if e["is_sensitive"]]
    reads = audit_rows(database, **mine)
    assert len(reads) == 2
    assert reads[1].id_student == shared
    assert json.loads(reads[1].details or "{}")["id_progress_event"] == shown
    # A page of ordinary events only is not a read of anything restricted.
    client.get(
        f"{API}/students/{shared}/progress-events",
        headers=counselor,
        params={"is_sensitive": "false"},
    )
    assert len(audit_rows(database, **mine)) == 2


def test_another_district_is_out_of_reach(
    client: TestClient, settings: Settings, database: Database, staff: demo.DemoStaff, shared: int
) -> None:
    hillcrest = other_district(database, settings)
    theirs = sign_in_other(client, hillcrest.counselor_email)
    ours = headers_for(client, settings, staff, "counselor")
    their_event = create_event(client, theirs, hillcrest.id_student, is_sensitive=True)
    our_event = create_event(client, ours, shared)

    assert (
        client.get(
            f"{API}/progress-events/{our_event['id_progress_event']}", headers=theirs
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"{API}/progress-events/{their_event['id_progress_event']}", headers=ours
        ).status_code
        == 404
    )
    assert client.get(f"{API}/students/{shared}/progress-events", headers=theirs).status_code == 404
    assert (
        client.get(f"{API}/students/{shared}/progress-events/count", headers=theirs).status_code
        == 404
    )
    district_admin = headers_for(client, settings, staff, "district_admin")
    assert (
        client.patch(
            f"{API}/progress-events/{their_event['id_progress_event']}",
            headers=district_admin,
            json={"content": "x"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{API}/students/{hillcrest.id_student}/progress-events",
            headers=district_admin,
            json={"content": "x"},
        ).status_code
        == 404
    )


def test_pages_are_right_when_the_server_time_zone_is_not_utc(
    client: TestClient,
    settings: Settings,
    database: Database,
    staff: demo.DemoStaff,
    shared: int,
    backend: str,
) -> None:
    """PostgreSQL compares a timestamp column with an aware value in the session's time
    zone; the cursor must not depend on the server being set to UTC."""
    if backend != "postgresql":
        pytest.skip("only PostgreSQL converts between timestamp and timestamptz")
    counselor = headers_for(client, settings, staff, "counselor")
    with database.session_scope() as session:
        expected = list(
            session.scalars(
                select(ProgressEvent.id_progress_event)
                .where(ProgressEvent.id_student == shared)
                .order_by(ProgressEvent.created_at.desc(), ProgressEvent.id_progress_event.desc())
            )
        )

    def far_from_utc(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'Pacific/Kiritimati'")
        cursor.close()
        dbapi_connection.commit()

    database.engine.dispose()
    event.listen(database.engine, "connect", far_from_utc)
    try:
        served = every_page(client, counselor, shared, limit=7)
    finally:
        event.remove(database.engine, "connect", far_from_utc)
        database.engine.dispose()
    assert [item["id_progress_event"] for item in served] == expected
