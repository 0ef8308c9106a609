"""The one place access is decided (SPEC section 5; STYLE principle 1).

`condition(resource, action)` is a SQL filter over the resource's table for lists and
counts; `fetch` reads one record through the read filter (404 outside it, audited) and
then checks the wanted action on it (403 when readable but not allowed, audited);
`require_on_student` decides a create before the record exists. Deny by default: no
right, no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from goalpath.audit.service import DENIED, AuditTrail
from goalpath.authz.grants import Grants
from goalpath.authz.scopes import (
    any_of,
    district_condition,
    district_program_ids,
    my_district_ids,
    program_condition,
    student_condition,
    students_of_programs,
    user_condition,
)
from goalpath.errors import Forbidden, NotFound
from goalpath.models import (
    AuditEvent,
    Goal,
    HealthNote,
    Program,
    ProgressEvent,
    ProgressReport,
    Role,
    SchoolDistrict,
    Student,
    User,
    UserProgram,
    UserStudent,
)

Model = TypeVar("Model")

# Records that belong to a student, with the column naming the student and the author.
STUDENT_RECORDS: dict[str, Any] = {
    "student": Student,
    "student_access": UserStudent,
    "goal": Goal,
    "health_note": HealthNote,
    "progress_event": ProgressEvent,
    "progress_report": ProgressReport,
}
MODELS: dict[str, Any] = {
    **STUDENT_RECORDS,
    "school_district": SchoolDistrict,
    "program": Program,
    "program_membership": UserProgram,
    "user": User,
    "audit_event": AuditEvent,
    "role": Role,
}


@dataclass(frozen=True)
class Bindings:
    """The expressions a condition is built on: columns for a list, literals for a
    record that is about to be created."""

    id_student: Any = None
    id_program: Any = None
    created_by: Any = None
    id_school_district: Any = None
    id_user: Any = None


def columns_of(resource: str) -> Bindings:
    model = MODELS[resource]
    if resource == "student":
        return Bindings(id_student=Student.id_student, id_program=Student.id_program)
    if resource in STUDENT_RECORDS:
        return Bindings(
            id_student=model.id_student, created_by=getattr(model, "id_user_created", None)
        )
    if resource == "program":
        return Bindings(id_program=Program.id_program)
    if resource == "program_membership":
        return Bindings(id_program=UserProgram.id_program, id_user=UserProgram.id_user)
    if resource == "school_district":
        return Bindings(id_school_district=SchoolDistrict.id_school_district)
    if resource == "user":
        return Bindings(id_user=User.id_user, id_school_district=User.id_school_district_home)
    if resource == "audit_event":
        return Bindings(id_student=AuditEvent.id_student, id_user=AuditEvent.id_user)
    if resource == "role":
        return Bindings()
    raise KeyError(resource)


def _record_key(resource: str) -> ColumnElement[int | None]:
    """An audit row's `record_id` as the id it is, for rows about `resource` (whose ids
    are whole numbers). Compared as numbers, not as text: MariaDB would compare the
    column with a cast in two different collations, and a CASE keeps PostgreSQL from
    casting another resource's record_id."""
    return case((AuditEvent.resource == resource, cast(AuditEvent.record_id, Integer)), else_=None)


class Authorizer:
    def __init__(self, session: Session, grants: Grants, audit: AuditTrail) -> None:
        self.session = session
        self.grants = grants
        self.audit = audit
        self.id_user = grants.id_user

    # -- conditions ---------------------------------------------------------------

    def condition(
        self, resource: str, action: str, bindings: Bindings | None = None
    ) -> ColumnElement[bool]:
        bound = bindings or columns_of(resource)
        scopes = sorted(self.grants.scopes(resource, action))
        if "global" in scopes:
            return true()
        return any_of([self._scope(resource, action, scope, bound) for scope in scopes])

    def _scope(
        self, resource: str, action: str, scope: str, bound: Bindings
    ) -> ColumnElement[bool]:
        me = self.id_user
        if resource in STUDENT_RECORDS:
            assert bound.id_student is not None
            readable_student: ColumnElement[bool] | None = None
            if scope == "own":
                readable_student = self._student_reachable(action, bound.id_student)
            return student_condition(
                scope,
                me,
                action,
                id_student=bound.id_student,
                id_program=bound.id_program,
                created_by=bound.created_by,
                readable_student=readable_student,
            )
        if resource == "program":
            assert bound.id_program is not None
            return program_condition(scope, me, id_program=bound.id_program)
        if resource == "program_membership":
            assert bound.id_program is not None
            if scope == "own" and bound.id_user is not None:
                own: ColumnElement[bool] = bound.id_user == me
                return own
            return program_condition(scope, me, id_program=bound.id_program)
        if resource == "school_district":
            assert bound.id_school_district is not None
            return district_condition(scope, me, id_school_district=bound.id_school_district)
        if resource == "user":
            assert bound.id_user is not None and bound.id_school_district is not None
            return user_condition(
                scope, me, target=bound.id_user, home_district=bound.id_school_district
            )
        if resource == "audit_event":
            if scope != "district":
                return false()
            return self._audit_district_scope()
        if resource == "role":
            # Roles and permissions are not scoped: any right on them is a global one.
            return true()
        return false()

    def _student_reachable(self, action: str, id_student: Any) -> ColumnElement[bool]:
        """`own` asks that the user can read the student; to change their own record
        they must reach the student with more than a read-only assignment (SPEC
        section 5: `read` allows only reads through that link)."""
        scopes = sorted(self.grants.scopes("student", "read"))
        if "global" in scopes:
            return true()
        return any_of(
            [
                student_condition(scope, self.id_user, action, id_student=id_student)
                for scope in scopes
            ]
        )

    def _audit_district_scope(self) -> ColumnElement[bool]:
        """Audit rows of my districts (SPEC section 11): a row about a student by the
        student's program; a row about no student by the home district of the account
        it concerns: the account itself for rows about accounts, else the acting one.
        Never by where the acting user happens to be a member."""
        me = self.id_user
        district_students = students_of_programs(district_program_ids(me))
        home_accounts = select(User.id_user).where(
            User.id_school_district_home.in_(my_district_ids(me))
        )
        about_account = and_(
            AuditEvent.resource == "user",
            AuditEvent.record_id.is_not(None),
            _record_key("user").in_(home_accounts),
        )
        by_account = and_(
            or_(AuditEvent.resource != "user", AuditEvent.record_id.is_(None)),
            AuditEvent.id_user.in_(home_accounts),
        )
        return or_(
            AuditEvent.id_student.in_(district_students),
            and_(AuditEvent.id_student.is_(None), or_(about_account, by_account)),
        )

    def audit_visibility(self) -> ColumnElement[bool]:
        """An audit row never reveals a record its reader may not see (SPEC section
        11): rows about health notes need the right to read the student's health
        notes, rows about sensitive events the right to read those."""
        on_student = Bindings(id_student=AuditEvent.id_student, created_by=literal(self.id_user))
        health_notes = self.condition("health_note", "read", on_student)
        sensitive = self.condition("progress_event", "read_sensitive", on_student)
        sensitive_events = select(ProgressEvent.id_progress_event).where(
            ProgressEvent.is_sensitive.is_(True)
        )
        about_sensitive_event = and_(
            AuditEvent.resource == "progress_event",
            AuditEvent.record_id.is_not(None),
            _record_key("progress_event").in_(sensitive_events),
        )
        return and_(
            or_(AuditEvent.resource != "health_note", health_notes),
            or_(not_(about_sensitive_event), sensitive),
        )

    def sensitive_condition(self) -> ColumnElement[bool]:
        """Progress events the user may see: not sensitive, or read_sensitive in scope."""
        allowed = self.condition("progress_event", "read_sensitive")
        return or_(
            ProgressEvent.is_sensitive.is_(None), ProgressEvent.is_sensitive.is_(False), allowed
        )

    def readable(self, resource: str) -> ColumnElement[bool]:
        condition = self.condition(resource, "read")
        if resource == "progress_event":
            return condition & self.sensitive_condition()
        if resource == "audit_event":
            return condition & self.audit_visibility()
        return condition

    def scoped(self, statement: Select[Any], resource: str) -> Select[Any]:
        return statement.where(self.readable(resource))

    # -- records ------------------------------------------------------------------

    def fetch(
        self,
        model: type[Model],
        record_id: int,
        resource: str,
        action: str = "read",
        *,
        student_of: Callable[[Model], int | None] | None = None,
    ) -> Model:
        """The record if the user may read it (else 404) and do `action` on it (else 403)."""
        primary_key = next(iter(model.__table__.primary_key.columns))  # type: ignore[attr-defined]
        record = self.session.scalars(
            select(model).where(primary_key == record_id, self.readable(resource))
        ).one_or_none()
        id_student = getattr(record, "id_student", None) if record is not None else None
        if student_of is not None and record is not None:
            id_student = student_of(record)
        if record is None:
            # The refusal is filed under the student the record belongs to (if it
            # exists), so "who tried to see this student's records" finds it too.
            id_student_column = getattr(model, "id_student", None)
            owner = (
                self.session.scalar(select(id_student_column).where(primary_key == record_id))
                if id_student_column is not None
                else None
            )
            self.deny(action, resource, record_id, owner, "not_found_or_out_of_scope")
            raise NotFound("Not found.")
        if action != "read" and not self.allowed_on(model, record_id, resource, action):
            self.deny(action, resource, record_id, id_student, "forbidden")
            raise Forbidden(f"You may read this {resource.replace('_', ' ')} but not {action} it.")
        return record

    def allowed_on(self, model: type[Any], record_id: int, resource: str, action: str) -> bool:
        primary_key = next(iter(model.__table__.primary_key.columns))
        condition = self.condition(resource, action)
        return bool(
            self.session.scalar(select(exists().where(primary_key == record_id, condition)))
        )

    def can_on_student(
        self, resource: str, action: str, id_student: int, *, sensitive: bool = False
    ) -> bool:
        bindings = Bindings(
            id_student=literal(id_student),
            created_by=literal(self.id_user),
        )
        if resource == "student":
            bindings = Bindings(id_student=Student.id_student, id_program=Student.id_program)
            condition = self.condition(resource, action, bindings)
            return bool(
                self.session.scalar(
                    select(exists().where(Student.id_student == id_student, condition))
                )
            )
        condition = self.condition(resource, action, bindings)
        if sensitive:
            condition = condition & self.condition("progress_event", "read_sensitive", bindings)
        return self.session.scalar(select(literal(1)).where(condition)) is not None

    def require_on_student(
        self, resource: str, action: str, id_student: int, *, sensitive: bool = False
    ) -> None:
        """For a record about to be created for (or a list asked of) a student the user
        can read: 403 without the right, 404 when the student itself is out of scope."""
        if not self.can_on_student("student", "read", id_student):
            self.deny(action, resource, None, id_student, "student_out_of_scope")
            raise NotFound("Not found.")
        if not self.can_on_student(resource, action, id_student, sensitive=sensitive):
            self.deny(action, resource, None, id_student, "forbidden")
            raise Forbidden(f"You may not {action} {resource.replace('_', ' ')} records here.")

    def can(self, resource: str, action: str, bindings: Bindings) -> bool:
        """Decide an action on a record described by literals (e.g. a program about to be
        created in district 3: Bindings(id_school_district=literal(3)))."""
        condition = self.condition(resource, action, bindings)
        return self.session.scalar(select(literal(1)).where(condition)) is not None

    def require_can(
        self,
        resource: str,
        action: str,
        bindings: Bindings,
        *,
        record_id: int | None = None,
        id_student: int | None = None,
    ) -> None:
        if not self.can(resource, action, bindings):
            self.deny(action, resource, record_id, id_student, "forbidden")
            raise Forbidden(f"You may not {action} this {resource.replace('_', ' ')}.")

    def require(self, resource: str, action: str, *, record_id: int | None = None) -> None:
        """For resources that are not scoped to a record (roles, permissions)."""
        if not self.grants.allows(resource, action):
            self.deny(action, resource, record_id, None, "forbidden")
            raise Forbidden(f"You may not {action} {resource.replace('_', ' ')} records.")

    def deny(
        self,
        action: str,
        resource: str,
        record_id: int | None,
        id_student: int | None,
        reason: str,
    ) -> None:
        self.audit.record_now(
            action,
            resource,
            outcome=DENIED,
            record_id=record_id,
            id_student=id_student,
            details={"reason": reason},
        )
