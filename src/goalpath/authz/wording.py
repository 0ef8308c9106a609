"""Rights in words, for the sentences a person reads: a refusal or a role's page says
"read health notes of the students assigned to them", never `health_note:read:assigned`."""

from __future__ import annotations

ROLE_LABELS = {
    "system_admin": "System administrator",
    "district_admin": "District administrator",
    "program_coordinator": "Program coordinator",
    "case_manager": "Case manager",
    "counselor": "Counselor",
    "nurse": "Nurse",
    "auditor": "Privacy officer / auditor",
}


def role_in_words(name: str | None) -> str:
    """A role's name as a person reads it ("Case manager"), for the built-in roles and
    any a district adds."""
    if not name:
        return "No role"
    return ROLE_LABELS.get(name, name.replace("_", " ").capitalize())


_RESOURCES = {
    "school_district": "school districts",
    "program": "programs",
    "program_membership": "program memberships",
    "user": "staff accounts",
    "role": "roles",
    "permission": "permissions",
    "student": "students",
    "student_access": "caseload assignments",
    "goal": "goals",
    "progress_event": "progress notes",
    "progress_report": "progress reports",
    "health_note": "health notes",
    "audit_event": "the audit trail",
    "identity_provider": "district sign-in providers",
}
_ACTIONS = {
    "create": "add",
    "read": "read",
    "update": "change",
    "delete": "delete",
    "read_sensitive": "read the sensitive entries of",
}
_SCOPES = {
    "global": "in every district",
    "district": "in their district",
    "program": "in their programs",
    "assigned": "of the students assigned to them",
    "own": "that they wrote",
}


def right_in_words(resource: str, action: str, scope: str) -> str:
    things = _RESOURCES.get(resource, resource.replace("_", " "))
    verb = _ACTIONS.get(action, action.replace("_", " "))
    where = _SCOPES.get(scope, scope)
    return f"{verb} {things} {where}"


def rights_in_words(rights: list[tuple[str, str, str]], limit: int = 3) -> str:
    """A short list of rights as a phrase: the first few, and how many more."""
    words = [right_in_words(*right) for right in rights[:limit]]
    more = len(rights) - len(words)
    if more > 0:
        words.append(f"{more} more right{'s' if more != 1 else ''}")
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
