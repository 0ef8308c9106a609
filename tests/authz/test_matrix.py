"""Every default role x every endpoint x a record in and a record out of scope.

The expected status is computed from the role's permission rows as stored in the
database (role_permission joined to permission), never written down per role, so a
role edited in a migration is checked against its new rows. List endpoints must return
exactly the ids that plain SQL restating docs/permissions.md finds (matrix_support).

The in-scope record of each resource belongs to a student in the user's narrowest scope
(their caseload, their program, their district); the out-of-scope record is the second
district's, which only a `global` right reaches. Every mismatch of a role is collected
and reported at once, so one run shows the whole picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from goalpath.config import Settings
from goalpath.db import Database
from tests.authz import matrix_support as support
from tests.authz.matrix_support import API, ROLES, DistrictA, DistrictB, Rights
from tests.fixtures import demo

SUCCESS = {"read": 200, "update": 200, "create": 201, "delete": 204, "list": 200}


@dataclass(frozen=True)
class Target:
    """What the expectation needs to know about the record a request is about."""

    in_scope: bool  # False: the second district's record
    own: bool = False  # created by the signed-in user (creates count as their own)
    sensitive: bool = False  # a progress event marked is_sensitive
    blocked: bool = False  # a permitted delete is refused with 409 (see deletes below)
    outranks: bool = False  # an account whose role holds rights the user lacks


def expected_status(rights: Rights, resource: str, action: str, target: Target) -> int:
    """The status docs/permissions.md promises for `action` on `target`.

    action is read/update/delete on one record, create (decided on the parent student)
    or list (a student's sub-collection, decided on the student)."""

    def covers(scopes: frozenset[str]) -> bool:
        if not target.in_scope:
            # The second district lies outside every scope but `global`.
            return "global" in scopes
        # The in-scope record sits in the user's narrowest scope, hence in every wider
        # one they hold; `own` reaches only records the user created.
        return bool(scopes - {"own"}) or ("own" in scopes and target.own)

    def held(action_name: str) -> frozenset[str]:
        return rights.scopes(resource, action_name)

    reads_notes = covers(rights.scopes("health_note", "read"))
    if action in ("create", "list"):
        # A student the user cannot read is absent: 404, whatever the rights below it.
        if not covers(rights.scopes("student", "read")):
            return 404
        if action == "list":
            # Any read right opens the list, an `own` one included (it then shows only
            # the user's records; the rows themselves are checked by id).
            allowed = covers(held("read")) or "own" in held("read")
        else:
            allowed = covers(held("create"))
            if resource == "progress_event" and target.sensitive:
                # Documented 403: a sensitive event needs read_sensitive to be logged.
                allowed = allowed and covers(held("read_sensitive"))
        if resource == "health_note" and not reads_notes and action == "list":
            # Notes are hidden, not refused, from anyone without health_note:read.
            return 404
        # Creating under a student the user can read but may not write for is refused
        # with 403 (documented); it reveals nothing about existing records.
        return SUCCESS[action] if allowed else 403
    visible = covers(held("read"))
    if resource == "progress_event" and target.sensitive:
        # Without read_sensitive a sensitive event is absent: 404 for every action.
        visible = visible and covers(held("read_sensitive"))
    if not visible:
        return 404
    if action == "read":
        return 200
    if not covers(held(action)):
        return 403
    if resource == "user" and target.outranks:
        # Escalation guard: an account whose role carries rights the user lacks can be
        # changed only by someone who could have granted that role.
        return 403
    if action == "delete" and target.blocked:
        # Records with dependants (and user accounts, never deleted) answer 409.
        return 409
    return SUCCESS[action]


# -- the recorder ------------------------------------------------------------------


@dataclass
class Matrix:
    """Sends the requests of one role, counting checks and collecting mismatches."""

    client: TestClient
    headers: dict[str, str]
    role: str
    rights: Rights
    checks: int = 0
    mismatches: list[str] = field(default_factory=list)

    def send(
        self, method: str, path: str, expected: int, body: dict[str, Any] | None = None
    ) -> Response:
        response = self.client.request(method, API + path, json=body, headers=self.headers)
        self.checks += 1
        if response.status_code != expected:
            self.mismatches.append(
                f"{self.role}: {method} {path} {body or ''} expected {expected}, "
                f"got {response.status_code} {response.text[:160]}"
            )
        return response

    def item(
        self,
        resource: str,
        action: str,
        path: str,
        target: Target,
        body: dict[str, Any] | None = None,
    ) -> Response:
        method = {"read": "GET", "update": "PATCH", "delete": "DELETE", "create": "POST"}[action]
        expected = expected_status(self.rights, resource, action, target)
        return self.send(method, path, expected, body)

    def listing(self, path: str, expected: int, key: str, ids: Callable[[], set[int]]) -> None:
        """Every page of a list: the status, then exactly the ids in scope. `ids` runs
        after the pages, so rows written by the listing itself are counted."""
        separator = "&" if "?" in path else "?"
        response = self.send("GET", f"{path}{separator}limit=200", expected)
        if response.status_code != 200 or expected != 200:
            return
        seen: list[int] = []
        while True:
            page = response.json()
            seen.extend(item[key] for item in page["items"])
            if not page["next_cursor"]:
                break
            response = self.client.get(
                f"{API}{path}",
                params={"limit": 200, "cursor": page["next_cursor"]},
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
        wanted = ids()
        if len(seen) != len(set(seen)) or set(seen) != wanted:
            self.mismatches.append(
                f"{self.role}: GET {path} ids differ: missing {sorted(wanted - set(seen))}, "
                f"unexpected {sorted(set(seen) - wanted)}, {len(seen) - len(set(seen))} repeated"
            )


# -- the test ------------------------------------------------------------------------


def check_targets_are_where_claimed(
    database: Database, rights: Rights, a: DistrictA, b: DistrictB
) -> None:
    """The data, not the API: each in-scope record lies in every scope the role holds
    on it (so "any scope" in expected_status is right), and each second-district
    record in none but `global`."""
    me = a.id_user
    in_targets = {
        "school_district": a.id_school_district,
        "program": a.id_program,
        "program_membership": a.id_membership,
        "user": a.id_colleague,
        "student": a.id_student,
    }
    out_targets = {
        "school_district": b.id_school_district,
        "program": b.id_program,
        "program_membership": b.id_membership,
        "user": b.id_staff,
        "student": b.id_student,
        "student_access": b.id_access,
        "goal": b.id_goal,
        "health_note": b.id_note,
        "progress_event": b.id_event_sensitive,
        "progress_report": b.id_report,
    }
    for resource, action, scope in rights.triples:
        if resource in in_targets and scope != "own":
            record_id = in_targets[resource]
            assert support.in_scope(database, resource, scope, me, record_id, rights), (
                resource,
                action,
                scope,
            )
    # Rights on a student's records are scoped through the student.
    for resource, _, scope in rights.triples:
        if resource in support.STUDENT_RECORDS and scope != "own":
            assert support.in_scope(database, "student", scope, me, a.id_student, rights)
    for resource, record_id in out_targets.items():
        for scope in support.SCOPE_ORDER[1:]:
            assert not support.in_scope(database, resource, scope, me, record_id, rights), (
                resource,
                scope,
            )


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role: str, client: TestClient, database: Database, settings: Settings) -> None:
    staff = demo.load(database, settings)
    me = staff.first(role)
    rights = support.role_rights(database, role)
    assert rights.triples, f"the role {role} has no permission rows"
    a = support.build_district_a(database, settings, me, rights)
    b = support.build_district_b(database, settings, me)
    check_targets_are_where_claimed(database, rights, a, b)
    matrix = Matrix(client, support.sign_in_as(client, settings, role), role, rights)

    inside, outside = Target(in_scope=True), Target(in_scope=False)
    hidden_in = Target(in_scope=True, sensitive=True)
    hidden_out = Target(in_scope=False, sensitive=True)

    def account(id_user: int, *, in_scope: bool) -> Target:
        outranked = not rights.covers_all(support.account_rights(database, id_user))
        return Target(in_scope=in_scope, outranks=outranked and id_user != me, blocked=True)

    # -- one record: read and change -------------------------------------------------
    items: list[tuple[str, str, dict[str, Any], Target]] = [
        ("school_district", f"/districts/{a.id_school_district}",
         {"contact_email": "records@riverbend-usd.example"}, inside),
        ("school_district", f"/districts/{b.id_school_district}",
         {"contact_email": f"records@{support.B_DOMAIN}"}, outside),
        ("program", f"/programs/{a.id_program}", {"description": "Checked."}, inside),
        ("program", f"/programs/{b.id_program}", {"description": "Checked."}, outside),
        ("program_membership", f"/programs/{a.id_program}/members/{a.id_membership}",
         {"is_primary": True}, inside),
        ("program_membership", f"/programs/{b.id_program}/members/{b.id_membership}",
         {"is_primary": False}, outside),
        ("user", f"/users/{a.id_colleague}", {"name": "Checked Colleague"},
         account(a.id_colleague, in_scope=True)),
        ("user", f"/users/{me}", {"name": "Checked Self"}, Target(in_scope=True, own=True)),
        ("user", f"/users/{b.id_staff}", {"name": "Checked Stranger"},
         account(b.id_staff, in_scope=False)),
        ("role", f"/roles/{a.id_role_spare}", {"description": "Checked."}, inside),
        ("student", f"/students/{a.id_student}", {"program_year": 3}, inside),
        ("student", f"/students/{b.id_student}", {"program_year": 3}, outside),
        ("student_access", f"/students/{a.id_student}/access/{a.id_access}",
         {"is_primary": True}, inside),
        ("student_access", f"/students/{b.id_student}/access/{b.id_access}",
         {"is_primary": False}, outside),
        ("goal", f"/goals/{a.id_goal}", {"title": "Checked goal"}, inside),
        ("goal", f"/goals/{b.id_goal}", {"title": "Checked goal"}, outside),
        ("health_note", f"/health-notes/{a.id_note}", {"content": "Checked."}, inside),
        ("health_note", f"/health-notes/{b.id_note}", {"content": "Checked."}, outside),
        ("progress_event", f"/progress-events/{a.id_event}", {"content": "Checked."}, inside),
        ("progress_event", f"/progress-events/{a.id_event_sensitive}",
         {"content": "Checked."}, hidden_in),
        ("progress_event", f"/progress-events/{b.id_event}", {"content": "Checked."}, outside),
        ("progress_event", f"/progress-events/{b.id_event_sensitive}",
         {"content": "Checked."}, hidden_out),
        ("progress_report", f"/progress-reports/{a.id_report}", {"summary": "Checked."}, inside),
        ("progress_report", f"/progress-reports/{b.id_report}", {"summary": "Checked."}, outside),
    ]  # fmt: skip
    for resource, path, body, target in items:
        matrix.item(resource, "read", path, target)
        matrix.item(resource, "update", path, target, body)
    for id_user, in_scope in ((a.id_colleague, True), (b.id_staff, False)):
        # Resetting a second factor is a change to the account (SPEC section 11).
        expected = expected_status(rights, "user", "update", account(id_user, in_scope=in_scope))
        matrix.send(
            "DELETE", f"/users/{id_user}/second-factor", 204 if expected == 200 else expected
        )
    for id_student, target in ((a.id_student, inside), (b.id_student, outside)):
        # The explanation is a view of the student: readable student, 200; else 404.
        matrix.item("student", "read", f"/students/{id_student}/access-explanation", target)

    # -- creates under both students ---------------------------------------------------
    own_records: list[tuple[str, str]] = []
    creates: list[tuple[str, str, dict[str, Any], bool]] = [
        ("goal", "goals", {"title": "Matrix created goal"}, False),
        ("progress_event", "progress-events", {"content": "Matrix created event."}, False),
        ("progress_event", "progress-events",
         {"content": "Matrix created sensitive event.", "is_sensitive": True}, True),
        ("health_note", "health-notes", {"content": "Matrix created note."}, False),
        # The assignee is the user themselves, the one account every role may read.
        # Those already on the student's caseload may not assign staff, so the 409
        # for a duplicate assignment never arises.
        ("student_access", "access", {"id_user": me, "access_level": "write"}, False),
    ]  # fmt: skip
    for id_student, in_scope in ((a.id_student, True), (b.id_student, False)):
        for resource, collection, body, sensitive in creates:
            target = Target(in_scope=in_scope, own=True, sensitive=sensitive)
            response = matrix.item(
                resource, "create", f"/students/{id_student}/{collection}", target, body
            )
            own_kind = resource in ("progress_event", "health_note") and not sensitive
            if in_scope and own_kind and response.status_code == 201:
                key = support.TABLES[resource][1]
                own_records.append((resource, f"/{collection}/{response.json()[key]}"))
    # `own` rights (update/delete own events and notes) are checked on the records the
    # user just created; a role that may not create them has no own record to check.
    own = Target(in_scope=True, own=True)
    for resource, path in own_records:
        matrix.item(resource, "read", path, own)
        matrix.item(resource, "update", path, own, {"content": "Checked own."})

    # -- lists: exactly the records in scope -----------------------------------------
    def ids(resource: str, where: str = "", **params: object) -> Callable[[], set[int]]:
        return lambda: support.readable_ids(
            database, resource, me, rights, where=where, params=params
        )

    matrix.listing("/districts", 200, "id_school_district", ids("school_district"))
    matrix.listing("/programs", 200, "id_program", ids("program"))
    matrix.listing("/users", 200, "id_user", ids("user"))
    matrix.listing("/students", 200, "id_student", ids("student"))
    matrix.listing("/roles", 200, "id_role", ids("role"))
    # The permission catalogue is part of `role`: all of it with role:read, else empty.
    matrix.listing("/permissions", 200, "id_permission", ids("permission"))
    for id_program, target in ((a.id_program, inside), (b.id_program, outside)):
        # The program must be readable (404 otherwise); its memberships are then
        # filtered by the membership scopes, an empty list without any.
        matrix.listing(
            f"/programs/{id_program}/members",
            expected_status(rights, "program", "read", target),
            "id_user_program",
            ids("program_membership", "r.id_program = :p", p=id_program),
        )
    sub_collections = (
        ("goal", "goals", "id_goal"),
        ("health_note", "health-notes", "id_health_note"),
        ("progress_event", "progress-events", "id_progress_event"),
        ("progress_report", "progress-reports", "id_progress_report"),
        ("student_access", "access", "id_user_student"),
    )
    for id_student, target in ((a.id_student, inside), (b.id_student, outside)):
        for resource, collection, key in sub_collections:
            matrix.listing(
                f"/students/{id_student}/{collection}",
                expected_status(rights, resource, "list", target),
                key,
                ids(resource, "r.id_student = :s", s=id_student),
            )

    # -- deletes, on records nothing else needs ---------------------------------------
    spare_program = Target(in_scope=True, blocked=not a.spare_program_in_scope)
    deletes: list[tuple[str, str, Target]] = [
        # Both districts still have programs: a permitted delete is a documented 409.
        ("school_district", f"/districts/{a.id_school_district}", Target(True, blocked=True)),
        ("school_district", f"/districts/{b.id_school_district}", Target(False, blocked=True)),
        # An empty program is in district or global scope only; a program-scoped
        # reader's in-scope program is their own, which has students (409 if allowed).
        ("program", f"/programs/{a.id_program_spare if a.spare_program_in_scope else a.id_program}",
         spare_program),
        ("program", f"/programs/{b.id_program}", Target(False, blocked=True)),
        ("program_membership", f"/programs/{a.id_program}/members/{a.id_membership}", inside),
        ("program_membership", f"/programs/{b.id_program}/members/{b.id_membership}", outside),
        # Accounts are never deleted (documented 409); account() marks them blocked.
        ("user", f"/users/{a.id_colleague}", account(a.id_colleague, in_scope=True)),
        ("user", f"/users/{b.id_staff}", account(b.id_staff, in_scope=False)),
        ("role", f"/roles/{a.id_role_spare}", inside),
        ("student", f"/students/{a.id_student_spare}",
         Target(True, blocked=a.spare_student_assigned)),
        ("student", f"/students/{b.id_student_spare}", outside),
        ("student_access", f"/students/{a.id_student}/access/{a.id_access}", inside),
        ("student_access", f"/students/{b.id_student}/access/{b.id_access}", outside),
        ("goal", f"/goals/{a.id_goal}", inside),
        ("goal", f"/goals/{b.id_goal_spare}", outside),
        ("health_note", f"/health-notes/{a.id_note}", inside),
        ("health_note", f"/health-notes/{b.id_note}", outside),
        ("progress_event", f"/progress-events/{a.id_event}", inside),
        ("progress_event", f"/progress-events/{a.id_event_sensitive}", hidden_in),
        ("progress_event", f"/progress-events/{b.id_event}", outside),
        ("progress_event", f"/progress-events/{b.id_event_sensitive}", hidden_out),
        ("progress_report", f"/progress-reports/{a.id_report}", inside),
        ("progress_report", f"/progress-reports/{b.id_report}", outside),
    ]  # fmt: skip
    deletes += [(resource, path, own) for resource, path in own_records]
    for resource, path, target in deletes:
        matrix.item(resource, "delete", path, target)

    # -- the audit trail, last: every request above is on it ----------------------------
    matrix.listing(
        "/audit-events",
        200 if rights.scopes("audit_event", "read") else 403,
        "id_audit_event",
        ids("audit_event"),
    )

    print(f"{role}: {matrix.checks} checks")
    assert not matrix.mismatches, "\n".join(matrix.mismatches)
