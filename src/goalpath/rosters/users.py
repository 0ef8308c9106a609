"""users.csv: each chunk's student rows go to `students`; staff rows become staff
accounts of the district, members of their schools' programs. An account made by hand
before the first import is taken over by its email rather than doubled; one the files
take away is deactivated and its sessions revoked, never deleted.
"""

from __future__ import annotations

from sqlalchemy import select

from goalpath.auth.sessions import revoke_user_sessions
from goalpath.errors import ValidationFailed
from goalpath.models import RosterSource, User, UserProgram
from goalpath.rosters.reader import Row
from goalpath.rosters.run import NAME_MAX, ImportRun, removed
from goalpath.rosters.students import import_students
from goalpath.users.service import normalise_email

STAFF_ROLES = frozenset(
    {"teacher", "aide", "administrator", "districtAdministrator", "siteAdministrator"}
)


def import_users(run: ImportRun) -> None:
    for chunk in run.chunks_of("users"):
        # A delta's tobedeleted row may carry nothing but its sourcedId.
        unnamed = [row for row in chunk if not run.role_of(row) and removed(row)]
        students = [row for row in chunk if run.role_of(row) == "student"] + unnamed
        staff = [row for row in chunk if run.role_of(row) in STAFF_ROLES] + unnamed
        if students:
            import_students(run, students)
        if staff:
            _import_staff(run, staff)
        run.flush()


def _import_staff(run: ImportRun, rows: list[Row]) -> None:
    mapped = run.mapped(("staff",), [row.sourced_id for row in rows])
    known = {
        user.id_user: user
        for user in run.session.scalars(
            select(User).where(User.id_user.in_([s.record_id for s in mapped.values()]))
        )
    }
    emails = {row.get("email").lower() for row in rows if row.get("email")}
    by_email = {
        user.email: user
        for user in run.session.scalars(select(User).where(User.email.in_(emails)))
        if user.email
    }
    already_mapped = set(
        run.session.scalars(
            select(RosterSource.record_id).where(
                RosterSource.id_school_district == run.district,
                RosterSource.kind == "staff",
                RosterSource.record_id.in_([user.id_user for user in by_email.values()]),
            )
        )
    )
    # Emails a row of this chunk has already claimed (a new account has no id yet).
    claimed: set[str] = set()
    created: list[tuple[str, User, list[str], set[int]]] = []
    memberships: dict[int, set[int]] = {}
    for row in rows:
        source = mapped.get(row.sourced_id)
        user = known.get(source.record_id) if source and source.record_id else None
        if removed(row):
            if user is not None:
                _deactivate(run, user)
            continue
        try:
            email = normalise_email(row.get("email"))
        except ValidationFailed:
            run.error("users", row, "invalid email")
            continue
        name = " ".join(part for part in (row.get("givenName"), row.get("familyName")) if part)
        if len(name) > NAME_MAX:
            run.error("users", row, f"name over {NAME_MAX} characters")
            continue
        owner = by_email.get(email)
        if owner is not None and owner is not user:
            if owner.id_school_district_home != run.district:
                run.error("users", row, "email already used by an account of another district")
                continue
            if user is not None or email in claimed or owner.id_user in already_mapped:
                run.error("users", row, "email already used by another account")
                continue
            # An account made by hand before the first import is taken over, not doubled.
            user = owner
            run.remember("staff", row.sourced_id, user.id_user)
            already_mapped.add(user.id_user)
        claimed.add(email)
        values: dict[str, object] = {"email": email, "name": name or None}
        if run.id_role is not None and (user is None or user.id_role is None):
            values["id_role"] = run.id_role
        programs = run.programs_of(run.orgs_of(row))
        if user is None:
            user = User(id_school_district_home=run.district, **values)
            run.session.add(user)
            fields = [
                "id_school_district_home",
                *[k for k, v in values.items() if v is not None],
            ]
            created.append((row.sourced_id, user, fields, programs))
            run.summary.created["staff"] += 1
            by_email[email] = user
            continue
        run.update(user, values, "user", "staff", user.id_user)
        by_email[email] = user
        if programs:
            memberships.setdefault(user.id_user, set()).update(programs)
    if created:
        run.session.flush()
    for sourced_id, user, fields, programs in created:
        run.remember("staff", sourced_id, user.id_user)
        run.record("create", "user", user.id_user, fields)
        if programs:
            memberships.setdefault(user.id_user, set()).update(programs)
    _add_memberships(run, memberships)


def _deactivate(run: ImportRun, user: User) -> None:
    if user.deactivated_at is not None:
        run.summary.unchanged += 1
        return
    user.deactivated_at = run.now
    revoke_user_sessions(run.session, user.id_user, now=run.now, reason="roster_import")
    run.record("update", "user", user.id_user, ["deactivated_at"])
    run.summary.deactivated["staff"] += 1


def _add_memberships(run: ImportRun, memberships: dict[int, set[int]]) -> None:
    if not memberships:
        return
    run.session.flush()
    existing = set(
        run.session.execute(
            select(UserProgram.id_user, UserProgram.id_program).where(
                UserProgram.id_user.in_(list(memberships))
            )
        )
    )
    added = [
        UserProgram(id_user=id_user, id_program=id_program, status="active", joined_at=run.now)
        for id_user, programs in memberships.items()
        for id_program in sorted(programs)
        if (id_user, id_program) not in existing
    ]
    if not added:
        return
    run.session.add_all(added)
    run.session.flush()
    for membership in added:
        run.record(
            "create",
            "program_membership",
            membership.id_user_program,
            ["id_program", "id_user", "status"],
        )
    run.summary.created["assignments"] += len(added)
