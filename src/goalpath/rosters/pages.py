"""The roster upload page (SPEC section 15): a district administrator uploads a
OneRoster zip, sees what a dry run would change and every row error, then applies the
same upload or downloads the errors as CSV.

The dry run is `preview_roster` and the import `import_roster`, the command line's own
import run on the request's session; who may import is `authorize_import`. A refused
upload shows the form again with its errors (`web.forms`); a refusal that leaves no
form to show (no access, an upload expired or of another sign-in) is raised and
answered by the page error handler. The upload is kept between the two steps as
`rosters.uploads` describes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Request, UploadFile
from sqlalchemy import select
from starlette.responses import Response

from goalpath.auth.deps import app_settings
from goalpath.authz.actor import Actor
from goalpath.errors import Forbidden, NotFound
from goalpath.kit.spreadsheet import csv_text
from goalpath.models import SchoolDistrict
from goalpath.rosters import uploads
from goalpath.rosters.reader import RosterRefused
from goalpath.rosters.service import (
    KINDS,
    ImportOptions,
    ImportSummary,
    authorize_import,
    import_roster,
    preview_roster,
)
from goalpath.web import forms
from goalpath.web.forms import FormState, FormText
from goalpath.web.pages import PageActor, page_router, redirect_with_flash, render

router = page_router()

UPLOAD_PATH = "/admin/roster"
# The preview lists this many row errors; the CSV download has them all.
SHOWN_ERRORS = 200
ERROR_COLUMNS = ("file", "line", "sourcedId", "problem")
_KIND_LABELS = {
    "programs": "Programs (schools)",
    "staff": "Staff accounts",
    "students": "Students",
    "assignments": "Memberships and caseload links",
    "periods": "Report periods",
}


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


def _upload_form(request: Request, actor: Actor, state: FormState | None = None) -> Response:
    districts = _districts(actor)
    if not districts:
        actor.authz.deny("update", "school_district", None, None, "page_not_in_role")
        raise Forbidden("Importing a roster is for the administrators of a district.")
    state = state or forms.blank({"district": "", "caseloads": ""})
    district = state.values["district"] or str(districts[0].id_school_district)
    return render(
        request,
        "rosters/upload.html",
        {
            **state.context(),
            "form": {"district": district},
            "districts": districts,
            "caseloads": state.values["caseloads"] == "yes",
            "max_size": _size(app_settings(request).roster_upload_max_bytes),
        },
        state.status_code,
    )


def _refused(values: dict[str, str], refusal: RosterRefused) -> FormState:
    return FormState(
        values,
        {"roster": ["Correct the file and upload it again."]},
        f"Nothing was imported: the file was refused because {refusal}.",
    )


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MiB"
    return f"{limit / 1024:g} KiB"


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
    district: FormText = "",
    caseloads: FormText = "",
    roster: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Stores the upload and shows what importing it would change: the dry run."""
    with_caseloads = caseloads == "yes"
    values = {"district": district, "caseloads": "yes" if with_caseloads else ""}
    id_district = forms.record_id(district)
    if id_district is None:
        state = forms.invalid(values, "district", "Choose one of your districts.")
        return _upload_form(request, actor, state)
    authorize_import(actor, id_district)
    if roster is None or not roster.filename:
        state = forms.invalid(values, "roster", "Choose the zip file to upload.")
        return _upload_form(request, actor, state)
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
        state = forms.invalid(
            values,
            "roster",
            f"The file is larger than the {_size(settings.roster_upload_max_bytes)} this page "
            "accepts. Import it with the command line instead (docs/rosters.md).",
        )
        state.status_code = 413
        return _upload_form(request, actor, state)
    options = ImportOptions(id_school_district=id_district, caseloads_from_classes=with_caseloads)
    try:
        summary = preview_roster(actor.db, upload.zip_path, options, now=actor.info.now)
    except RosterRefused as refusal:
        upload.discard()
        return _upload_form(request, actor, _refused(values, refusal))
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
    """The upload of this sign-in; an expired one, or another's, is a 404."""
    upload = uploads.find(
        token, id_user=actor.id_user, id_user_session=actor.user_session.id_user_session
    )
    if upload is None:
        raise NotFound("This upload has expired or belongs to another sign-in.")
    return upload


@router.post(UPLOAD_PATH + "/apply")
def apply_upload(request: Request, actor: PageActor, token: FormText = "") -> Response:
    """Imports the upload the preview showed, in the request's transaction."""
    upload = _find(actor, token)
    authorize_import(actor, upload.id_school_district)
    options = ImportOptions(
        id_school_district=upload.id_school_district,
        caseloads_from_classes=upload.caseloads_from_classes,
    )
    try:
        with forms.attempt(actor.db):
            summary = import_roster(actor.db, upload.zip_path, options, now=actor.info.now)
    except RosterRefused as refusal:
        # The upload cannot be applied as it is: the form to upload it again.
        upload.discard()
        values = {
            "district": str(upload.id_school_district),
            "caseloads": "yes" if upload.caseloads_from_classes else "",
        }
        return _upload_form(request, actor, _refused(values, refusal))
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
def error_report(actor: PageActor, token: str) -> Response:
    """The dry run's row errors; sourcedIds come from the district's files as they
    are, so every cell is written as text a spreadsheet will not run."""
    upload = _find(actor, token)
    rows = ([error.get(column) for column in ERROR_COLUMNS] for error in upload.errors())
    return Response(
        csv_text(ERROR_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="roster-errors.csv"',
            "Cache-Control": "no-store",
        },
    )
