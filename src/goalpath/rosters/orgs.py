"""orgs.csv and classes.csv: each school becomes a program of the district (or maps to
the one `--program`), the district and other orgs are only remembered; classes are
remembered with their school's program, for the enrollments that name them.
"""

from __future__ import annotations

from sqlalchemy import select

from goalpath.models import Program, RosterSource
from goalpath.rosters.reader import Row
from goalpath.rosters.run import NAME_MAX, ImportRun

# roster_source.kind of the records an org may be: a school's program, or any other org.
ORG_KINDS = ("program", "org")


def import_orgs(run: ImportRun) -> None:
    for chunk in run.chunks_of("orgs"):
        mapped = run.mapped(ORG_KINDS, [row.sourced_id for row in chunk])
        programs = {
            program.id_program: program
            for program in run.session.scalars(
                select(Program).where(
                    Program.id_program.in_(
                        [s.record_id for s in mapped.values() if s.kind == "program"]
                    )
                )
            )
        }
        for row in chunk:
            _import_org(run, row, mapped.get(row.sourced_id), programs)
        run.flush()
    run.school_programs = {
        source.sourced_id: source.record_id
        for source in run.session.scalars(
            select(RosterSource).where(
                RosterSource.id_school_district == run.district,
                RosterSource.kind == "program",
            )
        )
        if source.record_id is not None
    }


def _import_org(
    run: ImportRun, row: Row, source: RosterSource | None, programs: dict[int, Program]
) -> None:
    if row.get("type") != "school":
        if source is None:
            record = run.district if row.get("type") == "district" else None
            run.remember("org", row.sourced_id, record)
        return
    name = row.get("name")
    if len(name) > NAME_MAX:
        run.error("orgs", row, f"name over {NAME_MAX} characters")
        return
    if source is not None and source.record_id in programs:
        program = programs[source.record_id]
        if run.options.id_program is not None or row.to_be_deleted or program.name == name:
            # Programs are never deleted, and --program keeps its own name.
            run.summary.unchanged += 1
            return
        program.name = name
        run.record("update", "program", program.id_program, ["name"])
        run.summary.updated["programs"] += 1
        return
    if row.to_be_deleted:
        return
    if run.options.id_program is not None:
        run.remember("program", row.sourced_id, run.options.id_program)
        return
    program = Program(id_school_district=run.district, name=name or None)
    run.session.add(program)
    run.session.flush()
    run.remember("program", row.sourced_id, program.id_program)
    run.record("create", "program", program.id_program, ["id_school_district", "name"])
    run.summary.created["programs"] += 1


def import_classes(run: ImportRun) -> None:
    for chunk in run.chunks_of("classes"):
        mapped = run.mapped(("class",), [row.sourced_id for row in chunk])
        for row in chunk:
            program = run.program_of([row.get("schoolSourcedId")])
            source = mapped.get(row.sourced_id)
            if source is None:
                run.remember("class", row.sourced_id, program)
            elif source.record_id != program and program is not None:
                source.record_id = program
        run.flush()
