"""School districts: the top of the tree every program and student hangs from.

A district's scope is decided by `authz` (a district administrator reads and updates
the districts where they hold an active program membership); creating and deleting
districts is a `global` right in the default roles.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, func, literal, select
from sqlalchemy.exc import IntegrityError

from goalpath.audit.service import changed_fields
from goalpath.authz.actor import Actor
from goalpath.authz.service import Bindings
from goalpath.districts.schemas import DistrictInput
from goalpath.errors import Conflict
from goalpath.kit.pagination import PageRequest, keyset_page
from goalpath.models import Program, SchoolDistrict

RESOURCE = "school_district"
_FIELDS = ["contact_email", "name"]


def flush(actor: Actor, message: str) -> None:
    """Flush, turning a constraint the database enforces (a row added or removed by a
    concurrent request) into a 409 instead of a 500."""
    try:
        actor.db.flush()
    except IntegrityError as error:
        raise Conflict(message) from error


def list_districts(actor: Actor, page: PageRequest) -> tuple[list[SchoolDistrict], str | None]:
    statement = actor.authz.scoped(select(SchoolDistrict), RESOURCE)
    return keyset_page(actor.db, statement, [SchoolDistrict.id_school_district.expression], page)


def get_district(actor: Actor, id_school_district: int) -> SchoolDistrict:
    return actor.authz.fetch(SchoolDistrict, id_school_district, RESOURCE)


def create_district(actor: Actor, body: DistrictInput) -> SchoolDistrict:
    # A district that does not exist yet is in nobody's district scope, so only a
    # `global` right can create one: the NULL id matches no membership.
    actor.authz.require_can(RESOURCE, "create", Bindings(id_school_district=literal(None, Integer)))
    district = SchoolDistrict(
        name=body.name,
        contact_email=body.contact_email,
        time_zone=body.time_zone,
        country_code=body.country_code,
        created_at=actor.info.now,
    )
    actor.db.add(district)
    flush(actor, "The district could not be created; try again.")
    actor.audit.record(
        "create",
        RESOURCE,
        record_id=district.id_school_district,
        details={"fields": sorted(body.model_dump(exclude_none=True))},
    )
    return district


def update_district(
    actor: Actor, id_school_district: int, changes: dict[str, Any]
) -> SchoolDistrict:
    district = actor.authz.fetch(SchoolDistrict, id_school_district, RESOURCE, "update")
    before = {field: getattr(district, field) for field in changes}
    for field, value in changes.items():
        setattr(district, field, value)
    flush(actor, "The district changed meanwhile; reload it and try again.")
    actor.audit.record(
        "update",
        RESOURCE,
        record_id=id_school_district,
        details={"fields": changed_fields(before, changes)},
    )
    return district


def delete_district(actor: Actor, id_school_district: int) -> None:
    district = actor.authz.fetch(SchoolDistrict, id_school_district, RESOURCE, "delete")
    programs = actor.db.scalar(
        select(func.count())
        .select_from(Program)
        .where(Program.id_school_district == id_school_district)
    )
    if programs:
        raise Conflict(
            f"The district still has {programs} program(s); delete or move them first. "
            "Deleting a district never removes its programs or students."
        )
    actor.db.delete(district)
    flush(actor, "A program was added to the district meanwhile; it was not deleted.")
    actor.audit.record(
        "delete",
        RESOURCE,
        record_id=id_school_district,
        details={"fields": _FIELDS},
    )
