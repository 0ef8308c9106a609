"""Reporting periods: the default school year, leap years, and a district's own set."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest

from goalpath.config import Settings
from goalpath.errors import ValidationFailed
from goalpath.progress_reports.periods import (
    PeriodSettingInvalid,
    period_dates,
    period_names,
    period_range,
)


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def with_periods(settings: Settings, periods: object) -> Settings:
    return settings.model_copy(update={"report_periods": json.dumps(periods)})


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("Q1", utc(2025, 8, 1), utc(2025, 10, 16)),
        ("Q2", utc(2025, 10, 16), utc(2026, 1, 1)),
        ("Q3", utc(2026, 1, 1), utc(2026, 3, 16)),
        ("Q4", utc(2026, 3, 16), utc(2026, 7, 1)),
        ("S1", utc(2025, 8, 1), utc(2026, 1, 1)),
        ("S2", utc(2026, 1, 1), utc(2026, 7, 1)),
        ("T1", utc(2025, 8, 1), utc(2025, 11, 16)),
        ("T2", utc(2025, 11, 16), utc(2026, 3, 1)),
        ("T3", utc(2026, 3, 1), utc(2026, 7, 1)),
    ],
)
def test_default_periods_of_the_school_year_starting_in_2025(
    settings: Settings, period: str, start: datetime, end: datetime
) -> None:
    assert period_range(settings, period, 2025) == (start, end)


def test_the_default_quarters_tile_the_school_year(settings: Settings) -> None:
    quarters = [period_range(settings, name, 2026) for name in ("Q1", "Q2", "Q3", "Q4")]
    for (_, end), (next_start, _) in itertools.pairwise(quarters):
        assert end == next_start
    assert quarters[0][0] == utc(2026, 8, 1)
    assert quarters[-1][1] == utc(2027, 7, 1)


def test_t2_ends_on_the_last_day_of_february_in_leap_and_common_years(
    settings: Settings,
) -> None:
    # School year 2027-28 reaches February 2028, a leap year.
    assert period_dates(settings, "T2", 2027)[1].isoformat() == "2028-02-29"
    assert period_dates(settings, "T2", 2026)[1].isoformat() == "2027-02-28"
    # The end is exclusive: 1 March either way, so 29 February 2028 is inside.
    assert period_range(settings, "T2", 2027)[1] == utc(2028, 3, 1)
    assert period_range(settings, "T2", 2026)[1] == utc(2027, 3, 1)
    # Century years: 2100 is not a leap year, 2000 was.
    assert period_dates(settings, "T2", 2099)[1].isoformat() == "2100-02-28"
    assert period_dates(settings, "T2", 1999)[1].isoformat() == "2000-02-29"


def test_unknown_period_lists_the_valid_names(settings: Settings) -> None:
    with pytest.raises(ValidationFailed) as raised:
        period_range(settings, "Q5", 2025)
    for name in ("Q1", "Q4", "S2", "T3"):
        assert name in raised.value.detail
    assert raised.value.errors[0]["field"] == "period"


def test_year_out_of_range_is_refused(settings: Settings) -> None:
    with pytest.raises(ValidationFailed):
        period_range(settings, "Q1", 9999)


def test_custom_periods_replace_the_defaults(settings: Settings) -> None:
    custom = with_periods(
        settings,
        {
            "Fall": ["09-01", "01-31"],
            "Spring": ["02-01", "06-15"],
            "Summer-Ext": ["06-16", "07-31"],
            "Leap": ["02-29", "02-29"],
        },
    )
    assert period_names(custom) == ["Fall", "Spring", "Summer-Ext", "Leap"]
    # August-December fall in `year`, January-July in `year + 1`.
    assert period_range(custom, "Fall", 2025) == (utc(2025, 9, 1), utc(2026, 2, 1))
    assert period_range(custom, "Spring", 2025) == (utc(2026, 2, 1), utc(2026, 6, 16))
    assert period_range(custom, "Summer-Ext", 2025) == (utc(2026, 6, 16), utc(2026, 8, 1))
    assert period_range(custom, "Leap", 2027) == (utc(2028, 2, 29), utc(2028, 3, 1))
    assert period_range(custom, "Leap", 2026) == (utc(2027, 2, 28), utc(2027, 3, 1))
    with pytest.raises(ValidationFailed) as raised:
        period_range(custom, "Q1", 2025)
    assert "Fall" in raised.value.detail


@pytest.mark.parametrize(
    ("periods", "complaint"),
    [
        ({"Q1": ["03-01", "09-30"]}, "ends before it starts"),
        ({"Q1": ["10-15", "08-01"]}, "ends before it starts"),
        ({"Q1": ["02-30", "03-01"]}, "not a day of the year"),
        ({"Q1": ["8-1", "10-15"]}, "not a month-day"),
        ({"Q1": ["08-01"]}, "expected [start, end]"),
        ({"Quarter-One": ["08-01", "10-15"]}, "1 to 10"),
        ({"": ["08-01", "10-15"]}, "1 to 10"),
        ({}, "must be an object"),
        (["Q1"], "must be an object"),
    ],
)
def test_a_bad_setting_is_refused_with_a_clear_message(
    settings: Settings, periods: object, complaint: str
) -> None:
    with pytest.raises(PeriodSettingInvalid) as raised:
        period_range(with_periods(settings, periods), "Q1", 2025)
    assert complaint in str(raised.value)


def test_a_setting_that_is_not_json_is_refused(settings: Settings) -> None:
    broken = settings.model_copy(update={"report_periods": "{Q1: 08-01}"})
    with pytest.raises(PeriodSettingInvalid, match="not JSON"):
        period_names(broken)
