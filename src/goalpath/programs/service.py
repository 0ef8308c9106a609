"""Programs and their memberships (user_program).

A membership is itself a grant: the `program` and `district` scopes read user_program
on every request, so a membership that is added, set inactive or removed changes what
its user sees on their next request, with nothing cached to invalidate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, func, literal, null, select
from sqlalchemy.orm import Bundle

from goalpath.audit.service import changed_fields
from goalpath.authz.actor import Actor
from goalpath.authz.scopes import district_condition
from goalpath.authz.service import Bindings
from goalpath.districts.service import flush
from goalpath.errors import Conflict, Forbidden, NotFound, ValidationFailed
from goalpath.kit.pagination import MAX_LIMIT, PageRequest, keyset_page
from goalpath.models import Program, SchoolDistrict, Student, User, UserProgram
from goalpath.programs.schemas import Membership, MembershipInput, ProgramInput
from goalpath.users.service import manageable_account

RESOURCE = "program"
MEMBERSHIP = "program_membership"
_PROGRAM_FIELDS = ["description", "id_school_district", "name"]
_MEMBERSHIP_FIELDS = ["id_program", "id_user", "is_primary", "status"]


# -- programs ---------------------------------------------------------------------


def list_programs(
    actor: Actor, page: PageRequest, *, id_school_district: int | None = None
) -> tuple[list[Program], str | None]:
    statement = actor.authz.scoped(select(Program), RESOURCE)
    if id_school_district is not None:
        statement = statement.where(Program.id_school_district == id_school_district)
    return keyset_page(actor.db, statement, [Program.id_program.expression], page)


def get_program(actor: Actor, id_program: int) -> Program:
    return actor.authz.fetch(Program, id_program, RESOURCE)


def _require_create(actor: Actor, id_school_district: int) -> None:
    """May the actor create a program in this district?

    Program scopes bind on id_program, which a program about to be created does not
    have yet, so the decision is made on its district instead:
    - `global` program:create: any existing district;
    - `district` program:create: a district the actor can read and where they hold an
      active program membership (SPEC section 5's district scope). The membership test
      is the core's own district condition, not the read right alone, so a role that
      reads every district but creates only in its own stays in its own;
    - narrower scopes never create a program: a new program is nobody's program yet.
    A district the actor cannot read is 404, as for any record outside their scope.
    """
    district: ColumnElement[int | None] = literal(id_school_district, Integer)
    if not actor.grants.allows(RESOURCE, "create"):
        actor.authz.deny("create", RESOURCE, None, None, "forbidden")
        raise Forbidden("You may not create programs.")
    if actor.grants.holds(RESOURCE, "create", "global"):
        readable = actor.db.get(SchoolDistrict, id_school_district) is not None
    else:
        readable = actor.authz.can("school_district", "read", Bindings(id_school_district=district))
    if not readable:
        actor.authz.deny("create", RESOURCE, None, None, "district_out_of_scope")
        raise NotFound(
            "No such district.",
            errors=[{"field": "id_school_district", "message": "Not found."}],
        )
    if actor.grants.holds(RESOURCE, "create", "global"):
        return
    member_of_district = district_condition("district", actor.id_user, id_school_district=district)
    allowed = actor.grants.holds(RESOURCE, "create", "district") and (
        actor.db.scalar(select(literal(1)).where(member_of_district)) is not None
    )
    if not allowed:
        actor.authz.deny("create", RESOURCE, None, None, "forbidden")
        raise Forbidden("You may not create programs in this district.")


def create_program(actor: Actor, body: ProgramInput) -> Program:
    _require_create(actor, body.id_school_district)
    program = Program(
        id_school_district=body.id_school_district,
        name=body.name,
        description=body.description,
        created_at=actor.info.now,
    )
    actor.db.add(program)
    flush(actor, "The district was removed meanwhile; the program was not created.")
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=program.id_program,
        details={"fields": sorted(body.model_dump(exclude_none=True))},
    )
    return program


def update_program(actor: Actor, id_program: int, changes: dict[str, Any]) -> Program:
    program = actor.authz.fetch(Program, id_program, RESOURCE, "update")
    before = {field: getattr(program, field) for field in changes}
    for field, value in changes.items():
        setattr(program, field, value)
    flush(actor, "The program changed meanwhile; reload it and try again.")
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_program,
        details={"fields": changed_fields(before, changes)},
    )
    return program


def delete_program(actor: Actor, id_program: int) -> None:
    program = actor.authz.fetch(Program, id_program, RESOURCE, "delete")
    students = (
        select(func.count())
        .select_from(Student)
        .where(Student.id_program == id_program)
        .scalar_subquery()
    )
    memberships = (
        select(func.count())
        .select_from(UserProgram)
        .where(UserProgram.id_program == id_program)
        .scalar_subquery()
    )
    student_count, membership_count = actor.db.execute(select(students, memberships)).one()
    if student_count or membership_count:
        raise Conflict(
            f"The program still has {student_count} student(s) and {membership_count} "
            "staff membership(s); move its students to another program and remove its "
            "memberships first. Deleting a program never removes student records."
        )
    actor.db.delete(program)
    flush(actor, "A student or member was added to the program meanwhile; it was not deleted.")
    actor.audit.record(
        "delete", RESOURCE, record_id=id_program, details={"fields": _PROGRAM_FIELDS}
    )


# -- memberships ------------------------------------------------------------------


def _memberships(actor: Actor) -> Select[Any]:
    """Memberships with their member's name and email as one row, so a page is one
    joined query whatever its size. Name and email come only where the viewer may read
    the member's account: reading a membership does not widen the `user` scope."""
    member_visible = actor.authz.readable("user")
    bundle: Bundle[Any] = Bundle(
        "membership",
        UserProgram.id_user_program,
        UserProgram.id_user,
        UserProgram.id_program,
        UserProgram.is_primary,
        UserProgram.status,
        UserProgram.joined_at,
        case((member_visible, User.name), else_=null()).label("name"),
        case((member_visible, User.email), else_=null()).label("email"),
    )
    return select(bundle).outerjoin(User, User.id_user == UserProgram.id_user)


def _view(actor: Actor, id_user_program: int) -> Membership:
    row = actor.db.scalars(
        _memberships(actor).where(UserProgram.id_user_program == id_user_program)
    ).one()
    return Membership.model_validate(row)


def _membership(actor: Actor, id_program: int, id_user_program: int, action: str) -> UserProgram:
    """A membership of this program: 404 when the program or the membership is out of
    the actor's read scope, or the membership belongs to another program; 403 when it
    is readable but `action` is not allowed on it."""
    actor.authz.fetch(Program, id_program, RESOURCE)
    in_program = actor.db.scalar(
        select(UserProgram.id_user_program).where(
            UserProgram.id_user_program == id_user_program, UserProgram.id_program == id_program
        )
    )
    if in_program is None:
        actor.authz.deny(action, MEMBERSHIP, id_user_program, None, "not_found_or_out_of_scope")
        raise NotFound("Not found.")
    return actor.authz.fetch(UserProgram, id_user_program, MEMBERSHIP, action)


def list_members(
    actor: Actor, id_program: int, page: PageRequest
) -> tuple[list[Membership], str | None]:
    actor.authz.fetch(Program, id_program, RESOURCE)
    statement = actor.authz.scoped(_memberships(actor), MEMBERSHIP).where(
        UserProgram.id_program == id_program
    )
    rows, next_cursor = keyset_page(
        actor.db, statement, [UserProgram.id_user_program.expression], page
    )
    return [Membership.model_validate(row) for row in rows], next_cursor


def programs_of_member(actor: Actor, id_user: int) -> list[tuple[Membership, str]]:
    """A staff member's memberships the actor may read, each with its program's name:
    one joined query (a staff member's page)."""
    statement = (
        actor.authz.scoped(_memberships(actor), MEMBERSHIP)
        .add_columns(Program.name)
        .join(Program, Program.id_program == UserProgram.id_program)
        .where(UserProgram.id_user == id_user, actor.authz.readable(RESOURCE))
        .order_by(Program.name, UserProgram.id_user_program)
        .limit(MAX_LIMIT)
    )
    return [
        (Membership.model_validate(row[0]), row[1] or f"Program {row[0].id_program}")
        for row in actor.db.execute(statement)
    ]


def get_member(actor: Actor, id_program: int, id_user_program: int) -> Membership:
    _membership(actor, id_program, id_user_program, "read")
    return _view(actor, id_user_program)


def _target_user(actor: Actor, id_user: int) -> User:
    """The staff member to add: an account the actor may manage (SPEC section 11: 404
    outside their scope, 403 when it outranks them) and still active."""
    try:
        user = manageable_account(actor, id_user, "place")
    except NotFound as error:
        raise NotFound(
            "No such user.", errors=[{"field": "id_user", "message": "Not found."}]
        ) from error
    if user.deactivated_at is not None:
        raise ValidationFailed(
            "A deactivated account cannot join a program.",
            errors=[{"field": "id_user", "message": "This account is deactivated."}],
        )
    return user


def create_member(actor: Actor, id_program: int, body: MembershipInput) -> Membership:
    actor.authz.fetch(Program, id_program, RESOURCE)
    actor.authz.require_can(
        MEMBERSHIP,
        "create",
        Bindings(id_program=literal(id_program, Integer), id_user=literal(body.id_user, Integer)),
    )
    user = _target_user(actor, body.id_user)
    duplicate = actor.db.scalar(
        select(UserProgram.id_user_program).where(
            UserProgram.id_user == user.id_user, UserProgram.id_program == id_program
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"This staff member is already a member of the program (id_user_program "
            f"{duplicate}); change that membership instead."
        )
    membership = UserProgram(
        id_user=user.id_user,
        id_program=id_program,
        is_primary=body.is_primary,
        status=body.status,
        joined_at=actor.info.now,
    )
    actor.db.add(membership)
    flush(actor, "The membership conflicts with a change made meanwhile; reload and try again.")
    actor.audit.record(
        "create",
        MEMBERSHIP,
        record_id=membership.id_user_program,
        details={"fields": _MEMBERSHIP_FIELDS, "id_program": id_program, "id_user": user.id_user},
    )
    return Membership(
        id_user_program=membership.id_user_program,
        id_user=membership.id_user,
        id_program=membership.id_program,
        is_primary=membership.is_primary,
        status=membership.status,
        joined_at=membership.joined_at,
        name=user.name,
        email=user.email,
    )


def update_member(
    actor: Actor, id_program: int, id_user_program: int, changes: dict[str, Any]
) -> Membership:
    membership = _membership(actor, id_program, id_user_program, "update")
    if membership.id_user is not None:
        manageable_account(actor, membership.id_user, "place")
    before = {field: getattr(membership, field) for field in changes}
    for field, value in changes.items():
        setattr(membership, field, value)
    flush(actor, "The membership changed meanwhile; reload it and try again.")
    actor.audit.record(
        "update",
        MEMBERSHIP,
        record_id=id_user_program,
        details={
            "fields": changed_fields(before, changes),
            "id_program": id_program,
            "id_user": membership.id_user,
        },
    )
    return _view(actor, id_user_program)


def delete_member(actor: Actor, id_program: int, id_user_program: int) -> None:
    membership = _membership(actor, id_program, id_user_program, "delete")
    id_user = membership.id_user
    if id_user is not None:
        manageable_account(actor, id_user, "place")
    actor.db.delete(membership)
    flush(actor, "The membership changed meanwhile; reload it and try again.")
    actor.audit.record(
        "delete",
        MEMBERSHIP,
        record_id=id_user_program,
        details={"fields": _MEMBERSHIP_FIELDS, "id_program": id_program, "id_user": id_user},
    )
