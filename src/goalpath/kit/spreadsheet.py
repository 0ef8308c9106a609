"""CSV files that people open in a spreadsheet, written so that no cell runs as a formula.

Excel, LibreOffice Calc and Google Sheets run a cell that starts with "=", "+", "-" or
"@" as a formula, and some also one that starts with a tab or a carriage return. Text
that a person or a district's file put into a record (a goal's title, a sourcedId)
could then fetch a URL with the sheet's data in it, or start a program through DDE:
OWASP's "CSV Injection", ASVS 5.0 V1.2.10. RFC 4180 quoting does not stop it, since the
spreadsheet unquotes the cell first. Such a cell is written with a leading single
quote, which spreadsheets take as "this is text" and do not show.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text: empty for None, ISO 8601 for a date or a date and time, str()
    for anything else; quoted as text when a spreadsheet would run it as a formula.

    The text of every value is checked, whatever its type, so a negative number is
    written as text ("'-3"): a value whose type only looks harmless is still guarded."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    """A CSV document (RFC 4180, CRLF line ends) of the header and the rows, every cell
    through `safe_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
