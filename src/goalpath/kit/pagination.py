"""Keyset pagination (SPEC section 7): `?limit=` and an opaque `?cursor=`.

The cursor carries the sort key of the last row served, so a page never repeats or
skips rows when others are inserted meanwhile, and a deep page costs what the first
does (an index range scan, no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import Session

from goalpath.errors import ValidationFailed

Item = TypeVar("Item")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return date.fromisoformat(value["d"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid; start again from the first page.",
        errors=[{"field": "cursor", "message": "Not a cursor this server issued."}],
    )


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong shape")
        decoded = [_decode_value(value) for value in values]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise _invalid_cursor() from error
    if not all(isinstance(value, (int, str, datetime, date)) for value in decoded):
        raise _invalid_cursor()
    return decoded


_INT_RANGE = (-(2**31), 2**31 - 1)


def _check_types(values: list[Any], keys: Sequence[ColumnElement[Any]]) -> None:
    """A cursor is opaque but not trusted: each value must fit its key's column."""
    for value, key in zip(values, keys, strict=True):
        try:
            expected = key.type.python_type
        except NotImplementedError:
            continue
        fits = isinstance(value, expected) and not isinstance(value, bool)
        if fits and isinstance(value, int):
            fits = _INT_RANGE[0] <= value <= _INT_RANGE[1]
        if fits and isinstance(value, datetime):
            fits = value.tzinfo is not None
        if fits and isinstance(value, str):
            fits = len(value) <= 255 and "\x00" not in value
        if not fits:
            raise _invalid_cursor()


def keyset_page(
    session: Session,
    statement: Select[Any],
    keys: Sequence[ColumnElement[Any]],
    page: PageRequest,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Entities of `statement` ordered by `keys`, columns of the selected entity (all one
    direction; the last one unique)."""
    if page.cursor:
        after = decode_cursor(page.cursor, len(keys))
        _check_types(after, keys)
        row_key = tuple_(*keys)
        # Bound with each column's own type, so a timestamp is compared as UTC whatever
        # the database session's time zone.
        bound = tuple_(*[literal(value, key.type) for value, key in zip(after, keys, strict=True)])
        statement = statement.where(row_key < bound if descending else row_key > bound)
    order = [key.desc() if descending else key.asc() for key in keys]
    items = list(session.scalars(statement.order_by(*order).limit(page.limit + 1)))
    next_cursor = None
    if len(items) > page.limit:
        items = items[: page.limit]
        last = items[-1]
        next_cursor = encode_cursor([getattr(last, str(key.key)) for key in keys])
    return items, next_cursor
