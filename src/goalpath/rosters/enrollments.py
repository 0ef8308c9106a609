"""enrollments.csv: kept (roster_enrollment) so that a later delta may name one by its
sourcedId alone. One that goes (`tobedeleted`, or moved to another class or user) ends
the caseload links it justified, unless another class still justifies them; with
--caseloads-from-classes the classes of the file's enrollments get their links
(`caseloads`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from goalpath.models import RosterEnrollment
from goalpath.rosters.caseloads import end_caseloads, make_caseloads, pairs_of
from goalpath.rosters.run import ImportRun


def import_enrollments(run: ImportRun) -> None:
    touched: set[str] = set()
    # (staff sourcedId, student sourcedId) pairs whose link may have lost its reason.
    doubtful: set[tuple[str, str]] = set()
    for chunk in run.chunks_of("enrollments"):
        stored = {
            sourced_id: (id_enrollment, (class_id, user_id, role))
            for id_enrollment, sourced_id, class_id, user_id, role in run.session.execute(
                select(
                    RosterEnrollment.id_roster_enrollment,
                    RosterEnrollment.sourced_id,
                    RosterEnrollment.class_sourced_id,
                    RosterEnrollment.user_sourced_id,
                    RosterEnrollment.role,
                ).where(
                    RosterEnrollment.id_school_district == run.district,
                    RosterEnrollment.sourced_id.in_([row.sourced_id for row in chunk]),
                )
            )
        }
        added: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        gone_ids: list[int] = []
        gone: list[tuple[str, str, str]] = []
        for row in chunk:
            before = stored.get(row.sourced_id)
            if row.to_be_deleted:
                if before is not None:
                    gone_ids.append(before[0])
                    gone.append(before[1])
                continue
            now = (row.get("classSourcedId"), row.get("userSourcedId"), row.get("role"))
            if not all(now):
                run.error("enrollments", row, "no classSourcedId, userSourcedId or role")
                continue
            if run.options.caseloads_from_classes:
                touched.add(now[0])
            values = {"class_sourced_id": now[0], "user_sourced_id": now[1], "role": now[2]}
            if before is None:
                added.append(
                    {"id_school_district": run.district, "sourced_id": row.sourced_id} | values
                )
            elif before[1] != now:
                moved.append({"id_roster_enrollment": before[0]} | values)
                gone.append(before[1])
        # Read the classes' rosters before the chunk's changes, to know whom a gone
        # enrollment linked.
        doubtful.update(pairs_of(run, gone))
        if gone_ids:
            run.session.execute(
                delete(RosterEnrollment).where(RosterEnrollment.id_roster_enrollment.in_(gone_ids))
            )
        if moved:
            run.session.execute(update(RosterEnrollment), moved)
        if added:
            run.session.execute(insert(RosterEnrollment), added)
    if doubtful:
        end_caseloads(run, doubtful)
    if touched:
        make_caseloads(run, touched)
