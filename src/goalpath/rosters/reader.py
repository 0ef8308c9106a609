"""Reading a OneRoster 1.1 or 1.2 CSV set, a folder or a zip (SPEC section 15).

Files are streamed row by row through the standard library's csv module in strict mode,
so a malformed quote is an error rather than a guess. Line numbers are physical lines of
the file, the header being line 1, so that a district can find a row that spans several
lines because a quoted field holds a newline.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MANIFEST = "manifest.csv"
# A zip is refused before anything is read when it holds more members than this, or
# when its members would unpack to more than this many bytes: the sizes the zip
# declares are the most a member can give (zipfile stops there and checks the CRC), so
# a zip bomb is refused from its directory alone.
ARCHIVE_MAX_MEMBERS = 64
ARCHIVE_MAX_BYTES = 2 * 1024 * 1024 * 1024
_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# What a damaged member raises while it is read.
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)
VERSIONS = ("1.1", "1.2")
# The files this import reads, in the order their references need.
HANDLED = ("orgs", "academicSessions", "classes", "roles", "users", "enrollments")

_COMMON = ("sourcedId", "status", "dateLastModified")
_ORGS = (*_COMMON, "name", "type", "identifier", "parentSourcedId")
_SESSIONS = (
    *_COMMON,
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
)
_CLASSES = (
    *_COMMON,
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
)
_ENROLLMENTS = (
    *_COMMON,
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
)
_USERS_11 = (
    *_COMMON,
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
)
_USERS_12 = (
    *_COMMON,
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
)
_ROLES = (
    *_COMMON,
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
)

# Every column name the standard defines, per version and file; spelling and case must
# match exactly. `metadata.*` columns are the standard's own extension point.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "1.1": {
        "orgs": _ORGS,
        "academicSessions": _SESSIONS,
        "classes": _CLASSES,
        "users": _USERS_11,
        "enrollments": _ENROLLMENTS,
    },
    "1.2": {
        "orgs": _ORGS,
        "academicSessions": _SESSIONS,
        "classes": _CLASSES,
        "roles": _ROLES,
        "users": _USERS_12,
        "enrollments": _ENROLLMENTS,
    },
}
# The columns the standard requires and the mapping reads.
REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "1.1": {
        "orgs": ("sourcedId", "name", "type"),
        "academicSessions": ("sourcedId", "title", "type", "schoolYear"),
        "classes": ("sourcedId", "title", "schoolSourcedId", "termSourcedIds"),
        "users": ("sourcedId", "enabledUser", "orgSourcedIds", "role", "username"),
        "enrollments": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    },
    "1.2": {
        "orgs": ("sourcedId", "name", "type"),
        "academicSessions": ("sourcedId", "title", "type", "schoolYear"),
        "classes": ("sourcedId", "title", "schoolSourcedId", "termSourcedIds"),
        "roles": ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
        "users": ("sourcedId", "enabledUser", "username"),
        "enrollments": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    },
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    sourced_id: str | None
    problem: str

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "sourcedId": self.sourced_id,
            "problem": self.problem,
        }

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        named = f" ({self.sourced_id})" if self.sourced_id else ""
        return f"{where}{named}: {self.problem}"


class RosterRefused(Exception):
    """A structural error: the whole import is refused and nothing changes."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    @property
    def sourced_id(self) -> str:
        return self.get("sourcedId")

    @property
    def to_be_deleted(self) -> bool:
        return self.get("status").lower() == "tobedeleted"


class RosterSet:
    """A folder or a zip holding manifest.csv and the files it names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                raise RosterRefused(Problem(path.name, None, None, "not a zip file")) from None
            try:
                _check_archive(path.name, self._zip)
            except RosterRefused:
                self._zip.close()
                raise
        elif not path.is_dir():
            raise RosterRefused(Problem(str(path), None, None, "no such folder or zip file"))

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def names(self) -> list[str]:
        if self._zip is not None:
            return sorted(name for name in self._zip.namelist() if not name.endswith("/"))
        return sorted(entry.name for entry in self.path.iterdir() if entry.is_file())

    def exists(self, name: str) -> bool:
        if self._zip is not None:
            return name in self._zip.namelist()
        return (self.path / name).is_file()

    @contextmanager
    def open_bytes(self, name: str) -> Iterator[IO[bytes]]:
        if self._zip is not None:
            with self._zip.open(name) as raw:
                yield raw
        else:
            with (self.path / name).open("rb") as stream:
                yield stream

    @contextmanager
    def open(self, name: str) -> Iterator[IO[str]]:
        # utf-8-sig drops a byte order mark and is strict about everything else.
        if self._zip is not None:
            with self._zip.open(name) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        else:
            with (self.path / name).open(encoding="utf-8-sig", newline="") as stream:
                yield stream


def _check_archive(name: str, archive: zipfile.ZipFile) -> None:
    members = archive.infolist()
    if len(members) > ARCHIVE_MAX_MEMBERS:
        raise RosterRefused(
            Problem(name, None, None, f"holds more than {ARCHIVE_MAX_MEMBERS} files")
        )
    total = 0
    for member in members:
        parts = member.filename.replace("\\", "/").split("/")
        if (
            member.filename.startswith(("/", "\\"))
            or "\\" in member.filename
            or ".." in parts
            or ":" in member.filename
        ):
            raise RosterRefused(
                Problem(name, None, None, f"member name {member.filename!r} is not a plain path")
            )
        if member.flag_bits & 0x1:
            raise RosterRefused(Problem(name, None, None, f"{member.filename} is encrypted"))
        if member.compress_type not in _COMPRESSIONS:
            raise RosterRefused(
                Problem(name, None, None, f"{member.filename} uses a compression not supported")
            )
        total += member.file_size
    if total > ARCHIVE_MAX_BYTES:
        raise RosterRefused(
            Problem(
                name,
                None,
                None,
                f"would unpack to more than {ARCHIVE_MAX_BYTES // 1024**3} GiB",
            )
        )


def read_rows(
    roster: RosterSet, name: str, *, allowed: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[Row]:
    """The file's records with the physical line each starts on; any breach of RFC 4180
    or of the standard's header is a RosterRefused."""
    try:
        yield from _records(roster, name, allowed, required)
    except _DAMAGED:
        raise RosterRefused(Problem(name, None, None, "damaged in the zip file")) from None


def _records(
    roster: RosterSet, name: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[Row]:
    with roster.open(name) as stream:
        reader = csv.reader(stream, strict=True)
        last_line = 0
        header: list[str] | None = None
        try:
            for record in reader:
                line = last_line + 1
                last_line = reader.line_num
                if header is None:
                    header = _check_header(name, record, allowed, required)
                    continue
                if not record:
                    continue
                if len(record) != len(header):
                    raise RosterRefused(
                        Problem(
                            name,
                            line,
                            None,
                            f"has {len(record)} fields where the header has {len(header)}",
                        )
                    )
                yield Row(line, dict(zip(header, record, strict=True)))
        except csv.Error as error:
            raise RosterRefused(
                Problem(name, reader.line_num, None, f"not valid CSV: {error}")
            ) from None
        except UnicodeDecodeError:
            bad_line = _first_undecodable_line(roster, name)
            raise RosterRefused(Problem(name, bad_line, None, "not UTF-8 text")) from None
        if header is None:
            raise RosterRefused(Problem(name, 1, None, "has no header"))


def _first_undecodable_line(roster: RosterSet, name: str) -> int | None:
    """The decoder reads ahead in blocks, so the failing line is found again bytewise."""
    with roster.open_bytes(name) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _check_header(
    name: str, header: list[str], allowed: tuple[str, ...], required: tuple[str, ...]
) -> list[str]:
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise RosterRefused(Problem(name, 1, None, f"column {column!r} appears twice"))
        seen.add(column)
        if column not in allowed and not column.startswith("metadata."):
            raise RosterRefused(
                Problem(name, 1, None, f"column {column!r} is not a OneRoster column name")
            )
    for column in required:
        if column not in seen:
            raise RosterRefused(Problem(name, 1, None, f"required column {column!r} missing"))
    return header


@dataclass(frozen=True)
class Manifest:
    version: str
    # File stem (orgs, users, ...) -> "bulk" or "delta"; absent files are left out.
    files: dict[str, str]


def read_manifest(roster: RosterSet) -> Manifest:
    if not roster.exists(MANIFEST):
        raise RosterRefused(Problem(MANIFEST, None, None, "missing"))
    properties: dict[str, str] = {}
    for row in read_rows(
        roster, MANIFEST, allowed=("propertyName", "value"), required=("propertyName", "value")
    ):
        properties[row.get("propertyName")] = row.get("value")
    version = properties.get("oneroster.version", "")
    if version not in VERSIONS:
        raise RosterRefused(
            Problem(MANIFEST, None, None, f"oneroster.version {version!r} is not 1.1 or 1.2")
        )
    files: dict[str, str] = {}
    for key, value in properties.items():
        if not key.startswith("file."):
            continue
        mode = value.lower()
        if mode not in ("bulk", "delta", "absent"):
            raise RosterRefused(
                Problem(MANIFEST, None, None, f"{key} must be bulk, delta or absent")
            )
        if mode != "absent":
            files[key.removeprefix("file.")] = mode
    for stem in files:
        if not roster.exists(f"{stem}.csv"):
            raise RosterRefused(
                Problem(f"{stem}.csv", None, None, "named in the manifest but missing")
            )
    return Manifest(version=version, files=files)


def handled_rows(roster: RosterSet, manifest: Manifest, stem: str) -> Iterator[Row]:
    """The rows of one of the files the import reads (`HANDLED`); none when the manifest
    leaves the file out or the version has no such file."""
    if stem not in manifest.files or stem not in COLUMNS[manifest.version]:
        return iter(())
    return read_rows(
        roster,
        f"{stem}.csv",
        allowed=COLUMNS[manifest.version][stem],
        required=REQUIRED[manifest.version][stem],
    )


def split_list(value: str) -> list[str]:
    """A field that holds a comma-separated list (orgSourcedIds, termSourcedIds, grades)."""
    return [part.strip() for part in value.split(",") if part.strip()]
