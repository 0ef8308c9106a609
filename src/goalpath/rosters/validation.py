"""The first pass over a roster set: it only reads. Structure (headers, RFC 4180, through
`reader`), duplicate sourcedIds and references to records neither the files nor an
earlier import define are refused here, so a refused import has written nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from goalpath.models import RosterSource
from goalpath.rosters.orgs import ORG_KINDS
from goalpath.rosters.reader import (
    HANDLED,
    Manifest,
    Problem,
    RosterRefused,
    RosterSet,
    handled_rows,
    split_list,
)
from goalpath.rosters.run import BATCH, Catalog, Progress, chunks

# Per file, the columns that name other records and which file defines them.
_REFERENCES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "orgs": (("parentSourcedId", "orgs", False),),
    "academicSessions": (("parentSourcedId", "academicSessions", False),),
    "classes": (("schoolSourcedId", "orgs", False), ("termSourcedIds", "academicSessions", True)),
    "roles": (("userSourcedId", "users", False), ("orgSourcedId", "orgs", False)),
    "users": (("orgSourcedIds", "orgs", True), ("primaryOrgSourcedId", "orgs", False)),
    "enrollments": (
        ("classSourcedId", "classes", False),
        ("schoolSourcedId", "orgs", False),
        ("userSourcedId", "users", False),
    ),
}
# roster_source.kind of the records each file's sourcedIds may already name.
_STORED_KINDS = {
    "orgs": ORG_KINDS,
    "academicSessions": ("session",),
    "classes": ("class",),
    "users": ("staff", "student"),
}


def ignored_files(roster: RosterSet, manifest: Manifest) -> list[str]:
    """A note for each file of the set that the import does not read."""
    notes = []
    for name in roster.names():
        stem = name.removesuffix(".csv")
        if name == "manifest.csv" or (stem in HANDLED and stem in manifest.files):
            continue
        if stem == "demographics":
            notes.append("ignored demographics.csv: demographics are never stored")
        elif stem in HANDLED:
            notes.append(f"ignored {name}: the manifest marks it absent")
        else:
            notes.append(f"ignored {name}: not used by Goalpath")
    return notes


def validate(
    session: Session,
    roster: RosterSet,
    manifest: Manifest,
    id_school_district: int,
    progress: Progress | None,
) -> Catalog:
    catalog = Catalog()
    defined: dict[str, set[str]] = {stem: set() for stem in HANDLED}
    # First use of each reference not yet defined when it was read.
    pending: dict[str, dict[str, Problem]] = {stem: {} for stem in HANDLED}
    for stem in HANDLED:
        name = f"{stem}.csv"
        for count, row in enumerate(handled_rows(roster, manifest, stem), start=1):
            sourced_id = row.sourced_id
            if not sourced_id:
                raise RosterRefused(Problem(name, row.line, None, "no sourcedId"))
            if sourced_id in defined[stem]:
                raise RosterRefused(Problem(name, row.line, sourced_id, "duplicate sourcedId"))
            defined[stem].add(sourced_id)
            for column, target, is_list in _REFERENCES[stem]:
                values = split_list(row.get(column)) if is_list else [row.get(column)]
                for value in values:
                    if value and value not in defined[target] and value not in pending[target]:
                        pending[target][value] = Problem(
                            name, row.line, sourced_id, f"{column} {value!r} is not defined"
                        )
            if stem == "orgs":
                catalog.org_types[sourced_id] = row.get("type")
            elif stem == "roles" and not row.to_be_deleted:
                user = row.get("userSourcedId")
                if row.get("roleType") == "primary" or user not in catalog.user_roles:
                    catalog.user_roles[user] = row.get("role")
                orgs = catalog.user_orgs.setdefault(user, [])
                if row.get("roleType") == "primary":
                    orgs.insert(0, row.get("orgSourcedId"))
                else:
                    orgs.append(row.get("orgSourcedId"))
            catalog.row_counts[stem] = count
            if progress is not None and count % BATCH == 0:
                progress(f"checking {name}", count, None)
    for target, references in pending.items():
        unresolved = dict(references)
        for value in list(unresolved):
            if value in defined[target]:
                del unresolved[value]
        kinds = _STORED_KINDS.get(target, ())
        for chunk in chunks(list(unresolved)):
            known = session.scalars(
                select(RosterSource.sourced_id).where(
                    RosterSource.id_school_district == id_school_district,
                    RosterSource.kind.in_(kinds),
                    RosterSource.sourced_id.in_(chunk),
                )
            )
            for value in known:
                unresolved.pop(value, None)
        if unresolved:
            first = min(unresolved.values(), key=lambda problem: (problem.file, problem.line or 0))
            raise RosterRefused(first)
    return catalog
