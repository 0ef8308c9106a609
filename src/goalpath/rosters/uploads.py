"""Zips uploaded on the roster page, kept between the dry run and Apply.

Each upload is a folder of its own under the system's temporary directory, named by a
random token (256 bits, so a name cannot be guessed), readable by the server's user
only. It holds the zip, the dry run's row errors (for the CSV download) and what it is
bound to: the account and the sign-in session that uploaded it, and the district. Any
other session, even of the same person, finds nothing there. An upload expires
`UPLOAD_MINUTES` after it was made and is removed by the next upload after that; it is
removed at once when applied. The folder lives on the server that received the upload:
behind several servers, the page needs sessions kept on one server (or a shared
temporary directory).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from goalpath.rosters.reader import Problem

UPLOAD_MINUTES = 30
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_COPY_CHUNK = 1024 * 1024
ZIP_NAME = "roster.zip"
_META = "upload.json"
_ERRORS = "errors.json"


def upload_root() -> Path:
    return Path(tempfile.gettempdir()) / "goalpath-roster-uploads"


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Upload:
    token: str
    id_user: int
    id_user_session: int
    id_school_district: int
    caseloads_from_classes: bool
    filename: str
    created: float

    @property
    def folder(self) -> Path:
        return upload_root() / self.token

    @property
    def zip_path(self) -> Path:
        return self.folder / ZIP_NAME

    def save_errors(self, errors: list[Problem]) -> None:
        with (self.folder / _ERRORS).open("w", encoding="utf-8") as stream:
            json.dump([error.as_dict() for error in errors], stream)

    def errors(self) -> list[dict[str, object]]:
        path = self.folder / _ERRORS
        if not path.is_file():
            return []
        loaded = json.loads(path.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, list) else []

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def store(
    source: BinaryIO,
    *,
    max_bytes: int,
    id_user: int,
    id_user_session: int,
    id_school_district: int,
    caseloads_from_classes: bool,
    filename: str,
) -> Upload:
    """Copies the uploaded file into a new upload folder; UploadTooLarge past max_bytes."""
    purge_expired()
    root = upload_root()
    root.mkdir(mode=0o700, exist_ok=True)
    upload = Upload(
        token=secrets.token_urlsafe(32),
        id_user=id_user,
        id_user_session=id_user_session,
        id_school_district=id_school_district,
        caseloads_from_classes=caseloads_from_classes,
        filename=filename[:255],
        created=time.time(),
    )
    upload.folder.mkdir(mode=0o700)
    copied = 0
    try:
        with upload.zip_path.open("wb") as target:
            while chunk := source.read(_COPY_CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise UploadTooLarge
                target.write(chunk)
        (upload.folder / _META).write_text(json.dumps(asdict(upload)), encoding="utf-8")
    except BaseException:
        upload.discard()
        raise
    return upload


def find(token: str, *, id_user: int, id_user_session: int) -> Upload | None:
    """The upload of this token if it belongs to this sign-in session and has not
    expired; None otherwise, whatever the reason."""
    if not _TOKEN.match(token):
        return None
    meta = upload_root() / token / _META
    try:
        values = json.loads(meta.read_text(encoding="utf-8"))
        upload = Upload(**values)
    except (OSError, ValueError, TypeError):
        return None
    if upload.token != token or _expired(upload.created):
        return None
    if (upload.id_user, upload.id_user_session) != (id_user, id_user_session):
        return None
    return upload


def purge_expired() -> None:
    root = upload_root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        try:
            created = json.loads((folder / _META).read_text(encoding="utf-8"))["created"]
        except (OSError, ValueError, KeyError, TypeError):
            # A folder without its record is an upload cut short: old ones go too.
            created = folder.stat().st_mtime if folder.exists() else 0
        if _expired(float(created)):
            shutil.rmtree(folder, ignore_errors=True)


def _expired(created: float) -> bool:
    return time.time() - created > UPLOAD_MINUTES * 60
