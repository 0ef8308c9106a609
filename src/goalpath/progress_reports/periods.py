"""School years and reporting periods, the one place their dates are worked out
(SPEC section 8).

A school year starts on 1 August and is named by the calendar year it starts in; its
days of school run from 1 August to 30 June. Reporting periods are named date ranges
of a school year.

A report's `year` is the calendar year in which its school year starts. A period is a
range of month-days, and each month-day is placed by one rule:

- August to December fall in `year`;
- January to July fall in `year + 1`.

So Q3 (01-01..03-15) of year 2025 runs from 2026-01-01 to 2026-03-15, and a range may
run across New Year (T2, 11-16..02-29) but never across the 31 July / 1 August
boundary, which would make it end before it starts; such a setting is refused.

"02-29" is the last day of February: 29 February in a leap year, 28 February otherwise,
so one setting serves every year. As an end it gives 1 March in both cases; as a start
it is accepted the same way.

`settings.report_periods` replaces the whole default set with a JSON object such as
{"H1": ["08-01", "01-31"], "H2": ["02-01", "06-30"]}. Names are at most 10 characters
(the `period` column is varchar(10)). Ranges are returned as UTC datetimes, the start
included and the end excluded (the day after the last day).

A district whose roster import brought report periods for a school year (the
`report_period` table, docs/rosters.md) uses those, and only those, for that year: the
lookups take an optional session and district for this. Without them, or for a year the
district has none for, the configured periods apply.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from goalpath.config import Settings
from goalpath.errors import ValidationFailed
from goalpath.models import Program, ReportPeriod, Student

MAX_NAME_LENGTH = 10
# The first month of a school year; earlier months belong to the next calendar year.
SCHOOL_YEAR_START_MONTH = 8
# A school year's start year; the end date of its last period must stay in range.
MIN_YEAR = 1900
MAX_YEAR = 9998

# The days a school year's charts and family report cover: 1 August to 30 June.
SCHOOL_YEAR_FIRST = (SCHOOL_YEAR_START_MONTH, 1)
SCHOOL_YEAR_LAST = (6, 30)
# Years offered in the period pickers around the current school year.
YEARS_BACK = 3
YEARS_AHEAD = 1

DEFAULT_PERIODS: dict[str, tuple[str, str]] = {
    "Q1": ("08-01", "10-15"),
    "Q2": ("10-16", "12-31"),
    "Q3": ("01-01", "03-15"),
    "Q4": ("03-16", "06-30"),
    "S1": ("08-01", "12-31"),
    "S2": ("01-01", "06-30"),
    "T1": ("08-01", "11-15"),
    "T2": ("11-16", "02-29"),
    "T3": ("03-01", "06-30"),
}

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


class PeriodSettingInvalid(ValueError):
    """`report_periods` cannot be used; an operator must fix the setting."""


@dataclass(frozen=True)
class MonthDay:
    month: int
    day: int

    def on(self, year: int) -> date:
        """This month-day in the school year starting in `year`."""
        calendar_year = year if self.month >= SCHOOL_YEAR_START_MONTH else year + 1
        last = calendar.monthrange(calendar_year, self.month)[1]
        return date(calendar_year, self.month, min(self.day, last))

    def school_order(self) -> tuple[int, int]:
        """Sort key within a school year: August first, July last."""
        return ((self.month - SCHOOL_YEAR_START_MONTH) % 12, self.day)


@dataclass(frozen=True)
class Period:
    name: str
    start: MonthDay
    end: MonthDay

    def dates(self, year: int) -> tuple[date, date]:
        """First and last day (both included) in the school year starting in `year`."""
        return self.start.on(year), self.end.on(year)


def _month_day(text: object, where: str) -> MonthDay:
    match = _MONTH_DAY.match(text) if isinstance(text, str) else None
    if match is None:
        raise PeriodSettingInvalid(f"{where}: {text!r} is not a month-day like '08-01'")
    month, day = int(match.group(1)), int(match.group(2))
    # 2000 is a leap year, so 02-29 is accepted and later clamped per year.
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise PeriodSettingInvalid(f"{where}: {text!r} is not a day of the year")
    return MonthDay(month, day)


def _period(name: object, bounds: object) -> Period:
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_NAME_LENGTH
        or name != name.strip()
        or not name.isprintable()
    ):
        raise PeriodSettingInvalid(
            f"period name {name!r} must be 1 to {MAX_NAME_LENGTH} printable characters "
            "without leading or trailing spaces"
        )
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise PeriodSettingInvalid(f"period {name}: expected [start, end] month-days")
    start = _month_day(bounds[0], f"period {name} start")
    end = _month_day(bounds[1], f"period {name} end")
    if end.school_order() < start.school_order():
        raise PeriodSettingInvalid(
            f"period {name} ends before it starts: August-December fall in the school "
            "year's first calendar year and January-July in the next, so a period cannot "
            "run across 31 July"
        )
    return Period(name, start, end)


@lru_cache(maxsize=8)
def parse_periods(raw: str | None) -> dict[str, Period]:
    """The periods of a `report_periods` value (None or blank: the defaults)."""
    if raw is None or not raw.strip():
        return {name: _period(name, bounds) for name, bounds in DEFAULT_PERIODS.items()}
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError as error:
        raise PeriodSettingInvalid(f"report_periods is not JSON: {error}") from error
    if not isinstance(loaded, dict) or not loaded:
        raise PeriodSettingInvalid(
            'report_periods must be an object like {"Q1": ["08-01", "10-15"]}'
        )
    return {name: _period(name, bounds) for name, bounds in loaded.items()}


def configured_periods(settings: Settings) -> dict[str, Period]:
    return parse_periods(settings.report_periods)


def _require_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(
            f"year must be between {MIN_YEAR} and {MAX_YEAR}.",
            errors=[{"field": "year", "message": f"Between {MIN_YEAR} and {MAX_YEAR}."}],
        )


def imported_periods(
    session: Session | None, id_school_district: int | None, year: int
) -> dict[str, tuple[date, date]]:
    """The district's imported periods of the school year starting in `year`, first and
    last day (both included), in the order they start; empty when it has none."""
    if session is None or id_school_district is None:
        return {}
    rows = session.execute(
        select(ReportPeriod.name, ReportPeriod.starts_on, ReportPeriod.ends_on)
        .where(ReportPeriod.id_school_district == id_school_district, ReportPeriod.year == year)
        .order_by(ReportPeriod.starts_on, ReportPeriod.name)
    )
    return {row.name: (row.starts_on, row.ends_on) for row in rows}


def district_of_program(session: Session, id_program: int | None) -> int | None:
    if id_program is None:
        return None
    return session.scalar(
        select(Program.id_school_district).where(Program.id_program == id_program)
    )


def district_of_student(session: Session, id_student: int | None) -> int | None:
    if id_student is None:
        return None
    return session.scalar(
        select(Program.id_school_district)
        .join(Student, Student.id_program == Program.id_program)
        .where(Student.id_student == id_student)
    )


def _unknown_period(period: str, names: list[str]) -> ValidationFailed:
    listed = ", ".join(names)
    return ValidationFailed(
        f"Unknown reporting period {period!r}; the periods are: {listed}.",
        errors=[{"field": "period", "message": f"One of: {listed}."}],
    )


def get_period(settings: Settings, period: str) -> Period:
    periods = configured_periods(settings)
    found = periods.get(period)
    if found is None:
        raise _unknown_period(period, list(periods))
    return found


def period_names(
    settings: Settings,
    *,
    session: Session | None = None,
    id_school_district: int | None = None,
    year: int | None = None,
) -> list[str]:
    if year is not None:
        imported = imported_periods(session, id_school_district, year)
        if imported:
            return list(imported)
    return list(configured_periods(settings))


def period_dates(
    settings: Settings,
    period: str,
    year: int,
    *,
    session: Session | None = None,
    id_school_district: int | None = None,
) -> tuple[date, date]:
    """First and last day of the period, both included."""
    _require_year(year)
    imported = imported_periods(session, id_school_district, year)
    if imported:
        if period not in imported:
            raise _unknown_period(period, list(imported))
        return imported[period]
    return get_period(settings, period).dates(year)


def period_range(
    settings: Settings,
    period: str,
    year: int,
    *,
    session: Session | None = None,
    id_school_district: int | None = None,
) -> tuple[datetime, datetime]:
    """[start, end) of the period in the school year starting in `year`, as UTC
    datetimes: midnight of the first day, and midnight after the last day."""
    first, last = period_dates(
        settings, period, year, session=session, id_school_district=id_school_district
    )
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    after = last + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=UTC)


# -- school years -----------------------------------------------------------------------


def school_year_of(day: date) -> int:
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_label(year: int) -> str:
    return f"{year}\u2013{(year + 1) % 100:02d}"


def school_year_start(year: int) -> date:
    return date(year, SCHOOL_YEAR_START_MONTH, 1)


def school_year_days(year: int) -> tuple[date, date]:
    """First and last day of school of the school year that starts in `year`."""
    return date(year, *SCHOOL_YEAR_FIRST), date(year + 1, *SCHOOL_YEAR_LAST)


def current_period(settings: Settings, today: date) -> tuple[str, int]:
    """The configured period that contains today (the first one listed when several
    do); between periods, the one that ended last."""
    periods = configured_periods(settings)
    year = school_year_of(today)
    ended: tuple[date, str] | None = None
    for name, period in periods.items():
        first, last = period.dates(year)
        if first <= today <= last:
            return name, year
        if last < today and (ended is None or last > ended[0]):
            ended = (last, name)
    if ended is not None:
        return ended[1], year
    previous = max((period.dates(year - 1)[1], name) for name, period in periods.items())
    return previous[1], year - 1


def year_choices(today: date, *extra_years: int | None) -> list[tuple[int, str]]:
    """(year, label) for a school-year picker, newest first: the years around today's,
    and any year asked for that a report can have."""
    current = school_year_of(today)
    years = set(range(current - YEARS_BACK, current + YEARS_AHEAD + 1))
    years.update(year for year in extra_years if year is not None and MIN_YEAR <= year <= MAX_YEAR)
    return [(year, school_year_label(year)) for year in sorted(years, reverse=True)]


def period_choices(settings: Settings, today: date, *extra_years: int | None) -> dict[str, Any]:
    """The choices of a period picker: the configured periods, and the school years."""
    return {
        "period_options": [(name, name) for name in configured_periods(settings)],
        "years": year_choices(today, *extra_years),
    }
