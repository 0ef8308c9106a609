"""The form kit every page uses: read what was typed, validate it with the API's own
input schema, run the change, and either redirect with a flash or show the form again
with every error at once (GOV.UK's pattern: a summary linking to each field, the
message beside the field, in words a person reads).

A change runs inside a savepoint (`submit`, `attempt`): when it is refused, whatever it
had flushed is undone there, and the page shown next sees the records as they were. No
page rolls its transaction back itself. A refusal that leaves no form to show (the
record is gone, the page is not part of the role) is raised, and the page error handler
(`web.pages.page_error_handler`) answers it after the request's transaction has been
rolled back.

htmx only enhances: every form is a plain POST that redirects, and with htmx the same
POST answers the fragment to swap (as 200 even for a refused form, because htmx swaps
only 2xx answers; the errors are in the fragment).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple, TypeVar
from urllib.parse import urlencode

from fastapi import Form, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from goalpath.errors import GoalpathError, NotFound, ValidationFailed
from goalpath.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from goalpath.kit.schemas import MAX_ID
from goalpath.web.pages import redirect_with_flash, render

FormText = Annotated[str, Form()]
Model = TypeVar("Model", bound=BaseModel)

# Longer than any cursor this server issues (the API allows 512 characters).
MAX_CURSOR = 512


class FieldSpec(NamedTuple):
    element: str  # the id of the form control, which the error summary links to
    label: str
    empty: str  # the message when the field was left empty


@dataclass
class FormState:
    """A form as it is shown again: what was typed, and why it was refused."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    form_error: str | None = None
    status_code: int = 422
    # Which of a page's forms this is, where a page has several of one kind.
    form: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def context(self) -> dict[str, Any]:
        return {
            "form": self.values,
            "errors": self.errors,
            "form_error": self.form_error,
            "labels": self.labels,
        }


def blank(values: dict[str, str]) -> FormState:
    """A form shown for the first time."""
    return FormState(values, status_code=200)


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("form invalid")
        self.errors = errors


# -- messages -------------------------------------------------------------------------


def plain_message(problem: Mapping[str, Any], spec: FieldSpec, raw: str | None) -> str:
    """A schema's refusal of one field, in words: never a type name or a code."""
    kind = str(problem.get("type", ""))
    context = problem.get("ctx") or {}
    if kind in ("missing", "string_too_short") or (raw is not None and not raw.strip()):
        return spec.empty
    if kind == "string_too_long":
        return f"{spec.label} must be at most {context.get('max_length', 0):,} characters."
    if kind == "greater_than_equal":
        return f"{spec.label} must be at least {context.get('ge')}."
    if kind == "less_than_equal":
        return f"{spec.label} must be at most {context.get('le')}."
    if kind == "value_error":
        reason = str(problem.get("msg", "")).removeprefix("Value error, ")
        return f"{spec.label} {reason}."
    return f"{spec.label} is not valid."


def sentence(text: str) -> str:
    """A message as a sentence: capitalised, with its full stop."""
    text = text.removeprefix("Value error, ").strip()
    if not text:
        return "This value cannot be used."
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def validated(
    schema: type[Model],
    fields: Mapping[str, FieldSpec],
    raw: Mapping[str, str],
    data: Mapping[str, Any],
) -> Model:
    """`data` through the API's input schema; its refusals as messages per control."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as error:
        errors: dict[str, list[str]] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            # A check of the whole model (e.g. "exactly one target") is shown on the
            # form's first field.
            spec = fields.get(name) or next(iter(fields.values()))
            if spec.element not in errors:
                errors[spec.element] = [plain_message(problem, spec, raw.get(name))]
        raise FormInvalid(errors) from None


def service_refusal(
    error: GoalpathError, fields: Mapping[str, FieldSpec]
) -> tuple[dict[str, list[str]], str | None]:
    """A service's refusal under the form's controls: beside each field it names (in its
    own words where it has them), and for the whole form where it says more."""
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        spec = fields.get(str(item.get("field")))
        if spec is not None:
            message = sentence(str(item.get("message") or error.detail))
            if message not in errors.setdefault(spec.element, []):
                errors[spec.element].append(message)
    if not errors:
        return {}, error.detail
    # The refusal's own sentence too, unless it only repeats what the fields say.
    shown = [message for messages in errors.values() for message in messages]
    repeated = error.detail in shown or error.detail == " ".join(shown)
    return errors, None if repeated else error.detail


def invalid(values: dict[str, str], name: str, message: str) -> FormState:
    return FormState(values, {name: [message]}, None, 422)


# -- reading what was typed --------------------------------------------------------------


def record_id(text: str) -> int | None:
    """A positive 32-bit id written in ASCII digits, or None."""
    text = text.strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def path_id(text: str) -> int:
    """An id from the address: anything but a record id is a page that does not exist,
    as absent as a missing record."""
    value = record_id(text) if text == text.strip() else None
    if value is None:
        raise NotFound("Not found.")
    return value


def record_choice(value: str, spec: FieldSpec) -> int | None:
    """A record picked from a list: empty for none, else its id."""
    if value == "":
        return None
    if value.isascii() and value.isdigit() and len(value) <= 10 and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise FormInvalid({spec.element: [f"Choose {spec.label.lower()} from the list."]})


def required_choice(value: str, spec: FieldSpec) -> int:
    """A record that must be picked from a list."""
    if not value.strip():
        raise FormInvalid({spec.element: [spec.empty]})
    choice = record_choice(value, spec)
    assert choice is not None
    return choice


def checkbox(value: str, spec: FieldSpec) -> bool:
    if value in ("", "off", "false"):
        return False
    if value in ("on", "true", "1", "yes"):
        return True
    raise FormInvalid({spec.element: [f"{spec.label}: tick the box or leave it empty."]})


def year_choice(value: str, spec: FieldSpec) -> int | str:
    """A school year picked from the list; anything else goes to the schema as given,
    which refuses it with the API's message."""
    if value.isascii() and value.isdigit() and len(value) <= 4:
        return int(value)
    if value == "":
        return value
    raise FormInvalid({spec.element: ["Choose a school year from the list."]})


def multiline(value: str) -> str:
    """Browsers send a textarea's line breaks as CRLF; the records keep LF."""
    return value.replace("\r\n", "\n")


def optional(value: str) -> str | None:
    return value if value.strip() else None


def printable(value: str) -> bool:
    return not any(unicodedata.category(character) == "Cc" for character in value)


def query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def cursor(request: Request, name: str) -> str | None:
    value = query(request, name)
    if value is not None and (len(value) > MAX_CURSOR or not value.isascii()):
        raise ValidationFailed("This page link is not valid; start again from the first page.")
    return value


def page_request(limit: str, cursor_text: str) -> PageRequest:
    size = DEFAULT_LIMIT
    if limit:
        parsed = record_id(limit)
        if parsed is None or parsed > MAX_LIMIT:
            raise ValidationFailed(f"Show 1 to {MAX_LIMIT} rows a page.")
        size = parsed
    if len(cursor_text) > MAX_CURSOR:
        raise ValidationFailed("The page link is not valid; start again from the first page.")
    return PageRequest(limit=size, cursor=cursor_text or None)


def href(path: str, **values: str) -> str:
    """`path` with the query's non-empty values."""
    kept = {name: value for name, value in values.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def next_link(request: Request, next_cursor: str | None) -> str | None:
    """This page's address with the cursor of the next page (a local path)."""
    if next_cursor is None:
        return None
    url = request.url.include_query_params(cursor=next_cursor)
    return f"{url.path}?{url.query}"


def is_htmx(request: Request) -> bool:
    """A request from htmx that wants a fragment: not a history restore, which needs
    the whole page."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


# -- running a change ---------------------------------------------------------------------


@contextmanager
def attempt(db: Session) -> Iterator[None]:
    """A change that may be refused: a refusal raised inside undoes what it flushed,
    and the request goes on to show the form again."""
    with db.begin_nested():
        yield


def submit(
    request: Request,
    db: Session,
    state: FormState,
    fields: Mapping[str, FieldSpec],
    change: Callable[[], tuple[str, str]],
    again: Callable[[FormState | None, str | None], Response],
    /,
) -> Response:
    """Run a form's change: `change` returns the flash message and where to go. Success:
    a redirect with the flash (or, for htmx, `again(None, message)`: the fresh fragment
    and the message for its live region). Refusal: `again(state, None)`, the form with
    its errors, the change undone."""
    state.labels = {spec.element: spec.label for spec in fields.values()}
    try:
        with attempt(db):
            message, location = change()
    except FormInvalid as refused:
        state.errors = refused.errors
    except GoalpathError as error:
        state.errors, state.form_error = service_refusal(error, fields)
        if isinstance(error, NotFound) and not state.errors:
            # The record itself is gone (or out of reach): the page, not the form.
            raise
        state.status_code = error.status_code
    else:
        if is_htmx(request):
            return again(None, message)
        return redirect_with_flash(request, location, message)
    return again(state, None)


def showing(
    page: Callable[..., Response], *args: Any
) -> Callable[[FormState | None, str | None], Response]:
    """The `again` of a form shown by `page(*args, failed)`: the page with the refused
    form, or without one (None) after an htmx success."""
    return lambda failed, _message: page(*args, failed)


def act(
    request: Request,
    db: Session,
    change: Callable[[], str],
    location: str,
    again: Callable[[FormState | None, str | None], Response],
    values: dict[str, str] | None = None,
    fields: Mapping[str, FieldSpec] | None = None,
) -> Response:
    """A change made with one button (deactivate, remove, unlock): back to `location`
    with the flash `change` returns, or the page again with the refusal."""
    return submit(
        request, db, FormState(values or {}), fields or {}, lambda: (change(), location), again
    )


def render_again(
    request: Request, template: str, context: dict[str, Any], failed: FormState | None
) -> Response:
    """A page that holds forms, with the one that was refused (if any) shown with its
    errors and the status of its refusal."""
    context["failed"] = failed
    if failed is None:
        return render(request, template, context)
    context["errors"] = failed.errors
    context["form_error"] = failed.form_error
    return render(request, template, context, status_code=failed.status_code)
