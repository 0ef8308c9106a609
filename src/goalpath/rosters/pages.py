"""The roster upload page (SPEC section 15): a district administrator uploads a
OneRoster zip, sees what a dry run would change and every row error, then applies the
same upload or downloads the errors as CSV.

The dry run and the import are the command line's own `import_roster`, run on the
request's session: the dry run inside a savepoint that is rolled back, so it changes
nothing and the request holds one connection. Who may import is `authorize_import`.
The upload is kept between the two steps as `rosters.uploads` describes.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy import select
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.errors import GoalpathError, NotFound
from goalpath.models import SchoolDistrict
from goalpath.rosters import uploads
from goalpath.rosters.reader import RosterRefused
from goalpath.rosters.service import (
    KINDS,
    ImportOptions,
    ImportSummary,
    authorize_import,
    import_roster,
)
from goalpath.web import forms
from goalpath.web.pages import PageActor, redirect_with_flash, render

router = APIRouter(include_in_schema=False)

UPLOAD_PATH = "/admin/roster"
# The preview lists this many row errors; the CSV download has them all.
SHOWN_ERRORS = 200
MAX_ID = 2**31 - 1
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_HEADINGS = {
    400: "That file could not be used",
    403: "You do not have access to this",
    404: "Page not found",
    413: "That file is too large",
    422: "That file could not be used",
}
_KIND_LABELS = {
    "programs": "Programs (schools)",
    "staff": "Staff accounts",
    "students": "Students",
    "assignments": "Memberships and caseload links",
    "periods": "Report periods",
}


def _problem(request: Request, status: int, detail: str) -> Response:
    if status == 404:
        # The same words whether the record is absent or out of scope (SPEC section 5).
        detail = "There is nothing here, or it is not a record you have access to."
    return render(
        request,
        "rosters/problem.html",
        {"heading": _HEADINGS.get(status, "Something went wrong"), "detail": detail},
        status,
    )


def _districts(actor: Actor) -> list[SchoolDistrict]:
    """The districts whose record this person may change: the ones they may import
    into, once authorize_import has also seen their create rights."""
    return list(
        actor.db.scalars(
            select(SchoolDistrict)
            .where(actor.authz.condition("school_district", "update"))
            .order_by(SchoolDistrict.name, SchoolDistrict.id_school_district)
        )
    )


def _upload_form(
    request: Request,
    actor: Actor,
    *,
    district: str = "",
    caseloads: bool = False,
    errors: dict[str, list[str]] | None = None,
    form_error: str | None = None,
    status: int = 200,
) -> Response:
    districts = _districts(actor)
    if not districts:
        actor.authz.deny("update", "school_district", None, None, "page_not_in_role")
        return _problem(request, 403, "Importing a roster is for the administrators of a district.")
    limit = app_settings(request).roster_upload_max_bytes
    return render(
        request,
        "rosters/upload.html",
        {
            "districts": districts,
            "form": {"district": district or str(districts[0].id_school_district)},
            "caseloads": caseloads,
            "errors": errors or {},
            "form_error": form_error,
            "max_size": _size(limit),
        },
        status,
    )


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MiB"
    return f"{limit / 1024:g} KiB"


def _district_id(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def _counts(summary: ImportSummary) -> list[dict[str, Any]]:
    return [
        {
            "label": _KIND_LABELS[kind],
            "created": summary.created[kind],
            "updated": summary.updated[kind],
            "deactivated": summary.deactivated[kind],
        }
        for kind in KINDS
    ]


@router.get(UPLOAD_PATH)
def upload_page(request: Request, actor: PageActor) -> Response:
    return _upload_form(request, actor)


@router.post(UPLOAD_PATH)
def preview_upload(
    request: Request,
    actor: PageActor,
    district: Annotated[str, Form()] = "",
    caseloads: Annotated[str, Form()] = "",
    roster: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Stores the upload and shows what importing it would change: the dry run."""
    with_caseloads = caseloads == "yes"
    id_district = _district_id(district)
    if id_district is None:
        return _upload_form(
            request,
            actor,
            caseloads=with_caseloads,
            errors={"district": ["Choose one of your districts."]},
            status=422,
        )
    try:
        authorize_import(actor, id_district)
    except GoalpathError as error:
        return _problem(request, error.status_code, error.detail)
    if roster is None or not roster.filename:
        return _upload_form(
            request,
            actor,
            district=district,
            caseloads=with_caseloads,
            errors={"roster": ["Choose the zip file to upload."]},
            status=422,
        )
    settings = app_settings(request)
    try:
        upload = uploads.store(
            roster.file,
            max_bytes=settings.roster_upload_max_bytes,
            id_user=actor.id_user,
            id_user_session=actor.user_session.id_user_session,
            id_school_district=id_district,
            caseloads_from_classes=with_caseloads,
            filename=roster.filename,
        )
    except uploads.UploadTooLarge:
        return _problem(
            request,
            413,
            f"The file is larger than the {_size(settings.roster_upload_max_bytes)} this page "
            "accepts. Import it with the command line instead (docs/rosters.md).",
        )
    options = ImportOptions(id_school_district=id_district, caseloads_from_classes=with_caseloads)
    try:
        with actor.db.begin_nested() as dry_run:
            summary = import_roster(actor.db, upload.zip_path, options, now=actor.info.now)
            dry_run.rollback()
    except RosterRefused as refusal:
        upload.discard()
        return _upload_form(
            request,
            actor,
            district=district,
            caseloads=with_caseloads,
            form_error=f"Nothing was imported: the file was refused because {refusal}.",
            errors={"roster": ["Correct the file and upload it again."]},
            status=422,
        )
    upload.save_errors(summary.errors)
    actor.audit.record(
        "preview",
        "roster",
        record_id=summary.import_id,
        details={"import": summary.import_id, "dry_run": True, "errors": len(summary.errors)},
    )
    return render(
        request,
        "rosters/preview.html",
        {
            "upload": upload,
            "district": actor.db.get(SchoolDistrict, id_district),
            "counts": _counts(summary),
            "unchanged": summary.unchanged,
            "row_errors": summary.errors[:SHOWN_ERRORS],
            "error_count": len(summary.errors),
            "notes": summary.notes,
            "expires_in": uploads.UPLOAD_MINUTES,
        },
    )


def _find(actor: Actor, token: str) -> uploads.Upload:
    upload = uploads.find(
        token, id_user=actor.id_user, id_user_session=actor.user_session.id_user_session
    )
    if upload is None:
        raise NotFound("Not found.")
    return upload


@router.post(UPLOAD_PATH + "/apply")
def apply_upload(
    request: Request, actor: PageActor, token: Annotated[str, Form()] = ""
) -> Response:
    """Imports the upload the preview showed, in the request's transaction."""
    try:
        upload = _find(actor, token)
        authorize_import(actor, upload.id_school_district)
    except NotFound:
        return _problem(
            request,
            404,
            "This upload has expired or belongs to another sign-in; upload the file again.",
        )
    except GoalpathError as error:
        return _problem(request, error.status_code, error.detail)
    options = ImportOptions(
        id_school_district=upload.id_school_district,
        caseloads_from_classes=upload.caseloads_from_classes,
    )
    try:
        with forms.attempt(actor.db):
            summary = import_roster(actor.db, upload.zip_path, options, now=actor.info.now)
    except RosterRefused as refusal:
        upload.discard()
        return _problem(
            request, 422, f"Nothing was imported: the file was refused because {refusal}."
        )
    upload.discard()
    return redirect_with_flash(request, UPLOAD_PATH, _outcome(summary))


def _outcome(summary: ImportSummary) -> str:
    def counted(counter: dict[str, int]) -> str:
        parts = [f"{counter[kind]} {kind}" for kind in KINDS if counter[kind]]
        return ", ".join(parts) or "nothing"

    text = (
        f"Roster imported ({summary.import_id}). Created: {counted(summary.created)}. "
        f"Updated: {counted(summary.updated)}. Deactivated or withdrawn: "
        f"{counted(summary.deactivated)}. Unchanged: {summary.unchanged}."
    )
    if summary.errors:
        text += f" {len(summary.errors)} rows were skipped."
    return text


@router.get(UPLOAD_PATH + "/{token}/errors.csv")
def error_report(request: Request, actor: PageActor, token: str) -> Response:
    try:
        upload = _find(actor, token)
    except NotFound:
        return _problem(request, 404, "Not found.")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["file", "line", "sourcedId", "problem"])
    for error in upload.errors():
        writer.writerow(
            [_cell(error.get(column)) for column in ("file", "line", "sourcedId", "problem")]
        )
    return Response(
        text.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="roster-errors.csv"',
            "Cache-Control": "no-store",
        },
    )


def _cell(value: object) -> str:
    """A cell a spreadsheet would run as a formula is prefixed with a quote (OWASP CSV
    injection): sourcedIds come from the district's files as they are."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
