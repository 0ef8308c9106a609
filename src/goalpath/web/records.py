"""What the pages of a student's records share: the student page's address, the names
of the staff and the student a record mentions, and the correction of a record (edit,
delete) by those who may, refused in words to the others."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from starlette.responses import Response

from goalpath.authz.actor import Actor
from goalpath.errors import Forbidden
from goalpath.models import Student, User
from goalpath.web.forms import FormState, render_again
from goalpath.web.pages import redirect_with_flash

STUDENTS_PATH = "/students"


def student_path(id_student: int) -> str:
    return f"{STUDENTS_PATH}/{id_student}"


def user_names(actor: Actor, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the staff the user may read; others are shown by number, as the API
    shows them."""
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return {}
    statement = select(User.id_user, User.name).where(
        User.id_user.in_(wanted), actor.authz.readable("user")
    )
    return {
        row.id_user: row.name or f"Staff member {row.id_user}"
        for row in actor.db.execute(statement)
    }


def student_identifier(actor: Actor, id_student: int | None) -> str | None:
    if id_student is None:
        return None
    statement = select(Student.identifier).where(
        Student.id_student == id_student, actor.authz.readable("student")
    )
    identifier: str | None = actor.db.scalar(statement)
    return identifier


def today_of(actor: Actor) -> date:
    return actor.info.now.date()


def changeable(
    actor: Actor, key: InstrumentedAttribute[int], ids: Iterable[int], resource: str
) -> dict[str, set[int]]:
    """Which of the records shown (by primary key `key`) the user may update and delete:
    one statement per action whatever the number of records, so the timeline offers
    only what the person may do."""
    wanted = sorted(set(ids))
    found: dict[str, set[int]] = {"update": set(), "delete": set()}
    if not wanted:
        return found
    for action, allowed in found.items():
        allowed.update(
            actor.db.scalars(
                select(key).where(key.in_(wanted), actor.authz.condition(resource, action))
            )
        )
    return found


@dataclass(frozen=True)
class RecordKind:
    """A kind of record the timeline lets its author correct: its words, its right and
    where on the student page it is listed."""

    name: str
    resource: str
    key: InstrumentedAttribute[int]
    section: str

    def refusal(self, *, deleting: bool) -> Forbidden:
        what = "delete it" if deleting else "change or delete it"
        return Forbidden(
            f"You may read this {self.name}, but your role does not let you {what} "
            "(usually only the person who wrote it may)."
        )


def record_page(
    request: Request,
    actor: Actor,
    kind: RecordKind,
    record: Any,
    template: str,
    failed: FormState | None = None,
    *,
    deleting: bool = False,
    **extra: Any,
) -> Response:
    """The page to edit (or, `deleting`, to delete) one record: refused in words unless
    the user may do that to it, and offering only what they may do."""
    record_id = int(getattr(record, kind.key.key))
    id_student = int(record.id_student)
    may = changeable(actor, kind.key, [record_id], kind.resource)
    may_update, may_delete = record_id in may["update"], record_id in may["delete"]
    if not (may_delete if deleting else may_update or may_delete):
        action = "delete" if deleting else "update"
        actor.authz.deny(action, kind.resource, record_id, id_student, "forbidden")
        raise kind.refusal(deleting=deleting)
    author = record.id_user_created
    context = {
        "kind": kind.name,
        "record": record,
        "identifier": student_identifier(actor, id_student),
        "author": user_names(actor, [author]).get(author, f"Staff member {author}"),
        "back": student_path(id_student) + kind.section,
        "may_update": may_update,
        "delete_href": f"{request.url.path.rsplit('/', 1)[0]}/delete" if may_delete else None,
        **extra,
    }
    return render_again(request, template, context, failed)


def delete_record(
    request: Request, kind: RecordKind, id_student: int, delete: Callable[[], None]
) -> Response:
    """Run a confirmed delete, and back to the student page with a flash; a refusal in
    the page's words."""
    try:
        delete()
    except Forbidden:
        raise kind.refusal(deleting=True) from None
    name = kind.name[0].upper() + kind.name[1:]
    return redirect_with_flash(request, student_path(id_student) + kind.section, f"{name} deleted.")
