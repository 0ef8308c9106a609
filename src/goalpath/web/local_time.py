"""Times and dates as a district reads them (SPEC section 14): in the district's time
zone, labelled with it, and in US form ("Dec 1, 2026, 9:05 AM EST") for US districts,
else day first ("1 Dec 2026, 09:05 CET"). The machine-readable `datetime` attribute
of each `<time>` keeps the exact UTC instant."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from goalpath.models.school_district import DEFAULT_TIME_ZONE


@dataclass(frozen=True)
class Locale:
    time_zone: str = DEFAULT_TIME_ZONE
    us: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)


DEFAULT = Locale()


@functools.cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def local(moment: datetime, locale: Locale) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(locale.zone)


def day_text(value: date | datetime, locale: Locale) -> str:
    if isinstance(value, datetime):
        value = local(value, locale).date()
    month = value.strftime("%b")
    return (
        f"{month} {value.day}, {value.year}" if locale.us else f"{value.day} {month} {value.year}"
    )


def clock_text(moment: datetime, locale: Locale) -> str:
    here = local(moment, locale)
    if locale.us:
        hour = here.hour % 12 or 12
        clock = f"{hour}:{here.minute:02d} {'AM' if here.hour < 12 else 'PM'}"
    else:
        clock = f"{here.hour:02d}:{here.minute:02d}"
    return f"{clock} {here.tzname()}"


def moment_text(moment: datetime, locale: Locale) -> str:
    return f"{day_text(moment, locale)}, {clock_text(moment, locale)}"


def zone_label(locale: Locale) -> str:
    """The zone as a heading names it: "America/New_York (EST)"."""
    now = datetime.now(UTC).astimezone(locale.zone)
    return f"{locale.time_zone.replace('_', ' ')} ({now.tzname()})"
