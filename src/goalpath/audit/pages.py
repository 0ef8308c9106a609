"""Who accessed which student's records: the audit trail with its filters, and its CSV
export (SPEC section 6)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import case, func, null, select
from sqlalchemy.orm import Bundle
from starlette.responses import Response

from goalpath.audit import api as audit_api
from goalpath.audit.api import NAME_PATTERN
from goalpath.audit.queries import AuditFilters, check_id_cursor
from goalpath.authz.actor import Actor
from goalpath.authz.roles import RESOURCES
from goalpath.errors import ValidationFailed
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import (
    AuditEvent,
    Student,
    User,
)
from goalpath.web import forms
from goalpath.web.admin import AUDIT, require_section, section_page, staff_by_email
from goalpath.web.pages import PageActor, page_router, viewer_of

router = page_router()

OUTCOMES = ("allowed", "denied", "failed")
# The actions an auditor looks for most, offered as choices; any other action of the
# trail still filters when it arrives in the address.
ACTION_CHOICES = (
    ("read", "Read a record"),
    ("read_sensitive", "Read a sensitive entry"),
    ("create", "Added a record"),
    ("update", "Changed a record"),
    ("delete", "Deleted a record"),
    ("export", "Exported"),
    ("login.succeeded", "Signed in"),
    ("login.failed", "Sign-in failed"),
    ("account.locked", "Account locked"),
    ("account.unlocked", "Account unlocked"),
    ("password.changed", "Password changed"),
    ("grant_role", "Gave a role"),
    ("grant_permission", "Added a right to a role"),
    ("second_factor.enabled", "Second factor turned on"),
    ("second_factor.reset", "Second factor reset"),
)
_NAME_PATTERN = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class AuditSearch:
    student: str = ""
    user: str = ""
    action: str = ""
    resource: str = ""
    outcome: str = ""
    date_from: str = ""
    date_to: str = ""

    def given(self) -> dict[str, str]:
        return {name: value for name, value in self.__dict__.items() if value}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def audit_filters(
    actor: Actor, search: AuditSearch, zone: tzinfo = UTC
) -> tuple[AuditFilters, dict[str, list[str]]]:
    """The API's filters from the page's form: a student by identifier (or Goalpath
    number), a person by email (or number), an action, and whole days of the reader's
    district (`zone`)."""
    errors: dict[str, list[str]] = {}
    id_student = id_user = None
    for field in ("student", "user", "action", "resource", "outcome", "date_from", "date_to"):
        if len(getattr(search, field)) > 320 or "\x00" in getattr(search, field):
            errors[field] = ["This value is too long or not valid."]
    if search.student and "student" not in errors:
        matches = list(
            actor.db.scalars(
                actor.authz.scoped(
                    select(Student.id_student)
                    .where(func.lower(Student.identifier) == search.student.strip().lower())
                    .limit(2),
                    "student",
                )
            )
        )
        if len(matches) == 1:
            id_student = matches[0]
        elif len(matches) > 1:
            errors["student"] = [
                "Students of several districts have this identifier; enter the Goalpath number."
            ]
        else:
            id_student = forms.record_id(search.student)
            if id_student is None:
                errors["student"] = ["No student you can see has this identifier."]
    if search.user and "user" not in errors:
        id_user = staff_by_email(actor, search.user) if "@" in search.user else None
        if id_user is None:
            id_user = forms.record_id(search.user)
        if id_user is None:
            errors["user"] = ["No staff account you can see has this email address."]
    for field in ("action", "resource"):
        value = getattr(search, field)
        if value and field not in errors and (len(value) > 50 or not _NAME_PATTERN.match(value)):
            errors[field] = [
                "Use letters, digits, dots, dashes or underscores, such as login.failed."
            ]
    if search.outcome and search.outcome not in OUTCOMES:
        errors["outcome"] = ["Choose an outcome from the list."]
    first = _day(search.date_from) if search.date_from else None
    last = _day(search.date_to) if search.date_to else None
    if search.date_from and first is None and "date_from" not in errors:
        errors["date_from"] = ["Enter a date such as 2026-09-01."]
    if search.date_to and last is None and "date_to" not in errors:
        errors["date_to"] = ["Enter a date such as 2026-09-30."]
    if first and last and first > last:
        errors["date_to"] = ["The last day must not be before the first day."]
    filters = AuditFilters(
        id_student=id_student,
        id_user=id_user,
        action=search.action or None,
        resource=search.resource or None,
        outcome=search.outcome or None,
        occurred_from=_midnight(first, zone) if first else None,
        # The last day is included whole.
        occurred_to=(
            _midnight(last + timedelta(days=1), zone) - timedelta(microseconds=1)
            if last and last < date.max
            else None
        ),
    )
    return filters, errors


def _zone(request: Request) -> tzinfo:
    viewer = viewer_of(request)
    return viewer.locale.zone if viewer is not None else UTC


def _with_current(choices: tuple[tuple[str, str], ...], current: str) -> list[tuple[str, str]]:
    """The choices, and the value asked for in the address when it is another one."""
    listed = list(choices)
    if current and current not in {value for value, _label in choices}:
        listed.append((current, current))
    return listed


def _describe(details: str | None) -> str:
    """An audit row's details as one readable line (names and ids only, by design)."""
    if not details:
        return ""
    try:
        parsed = json.loads(details)
    except ValueError:
        return details
    if not isinstance(parsed, dict):
        return str(parsed)
    parts = []
    for key, value in sorted(parsed.items()):
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _audit_rows(
    actor: Actor, filters: AuditFilters, page: PageRequest
) -> tuple[list[Any], str | None]:
    """The API's list (the same readable condition and filters), with each row's person
    and student named where the reader may read that account or student: one query."""
    actor.authz.require(audit_api.RESOURCE, "read")
    readable = actor.authz.readable(audit_api.RESOURCE)
    user_visible = actor.authz.readable("user")
    student_visible = actor.authz.readable("student")
    bundle: Bundle[Any] = Bundle(
        "event",
        AuditEvent.id_audit_event,
        AuditEvent.occurred_at,
        AuditEvent.id_user,
        AuditEvent.ip,
        AuditEvent.action,
        AuditEvent.resource,
        AuditEvent.record_id,
        AuditEvent.id_student,
        AuditEvent.outcome,
        AuditEvent.details,
        case((user_visible, User.name), else_=null()).label("user_name"),
        case((student_visible, Student.identifier), else_=null()).label("identifier"),
    )
    statement = (
        select(bundle)
        .select_from(AuditEvent)
        .outerjoin(User, User.id_user == AuditEvent.id_user)
        .outerjoin(Student, Student.id_student == AuditEvent.id_student)
        .where(readable, *filters.conditions())
    )
    check_id_cursor(page)
    return keyset_page(
        actor.db, statement, [AuditEvent.id_audit_event.expression], page, descending=True
    )


SearchQuery = Annotated[AuditSearch, Depends()]


def _searched(
    request: Request, actor: Actor, search: AuditSearch
) -> tuple[AuditFilters, dict[str, list[str]]]:
    require_section(actor, AUDIT)
    return audit_filters(actor, search, _zone(request))


@router.get(AUDIT.path)
def audit_page(
    request: Request, actor: PageActor, search: SearchQuery, limit: str = "", cursor: str = ""
) -> Response:
    filters, errors = _searched(request, actor, search)
    rows: list[Any] = []
    next_cursor = None
    if not errors:
        rows, next_cursor = _audit_rows(actor, filters, forms.page_request(limit, cursor))
    export_query = request.url.remove_query_params(["cursor", "limit"]).query
    return section_page(
        request,
        actor,
        "admin/audit.html",
        {
            "rows": rows,
            "search": search,
            "outcomes": OUTCOMES,
            "action_choices": _with_current(ACTION_CHOICES, search.action),
            "resource_choices": _with_current(
                tuple((name, name.replace("_", " ").capitalize()) for name in RESOURCES),
                search.resource,
            ),
            "describe": _describe,
            "next_link": forms.next_link(request, next_cursor),
            "export_link": AUDIT.path
            + "/export.csv"
            + (f"?{export_query}" if export_query else ""),
            "errors": errors,
        },
        422 if errors else 200,
    )


@router.get(AUDIT.path + "/export.csv")
def audit_export(request: Request, actor: PageActor, search: SearchQuery) -> Response:
    """The API's export itself (the same rows, CSV and audit row), from the page's
    filters."""
    filters, errors = _searched(request, actor, search)
    if errors:
        message = "; ".join(
            f"{field.replace('_', ' ')}: {text[0]}" for field, text in errors.items()
        )
        raise ValidationFailed("The filters cannot be used: " + message)
    return audit_api.export_audit_events(actor, filters)
