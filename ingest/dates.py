"""Reading publication dates; an unreadable date is unknown (None), never guessed."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

_EPOCH = date(1970, 1, 1)
_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")
# News is not dated before this, nor more than a couple of days ahead (time zones,
# embargoes): anything else is a typo or a wrong field, safer unknown than misdated.
_EARLIEST = date(1900, 1, 1)
_AHEAD = timedelta(days=2)
_TIMESTAMPS_FROM = 315_532_800  # 1980-01-01T00:00:00Z


def parse_date(value: object) -> date | None:
    """ISO 8601 dates/datetimes, RFC 2822 (feeds, mail) and `time.struct_time`."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time.struct_time):
        return date(value.tm_year, value.tm_mon, value.tm_mday)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):  # a Unix timestamp
        try:
            return datetime.fromtimestamp(value, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    match = _ISO_PREFIX.match(text)
    if match:
        try:
            return date.fromisoformat(match.group(0))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def read_date(value: object, today: date | None = None) -> tuple[date | None, str]:
    """An article's publication date, and what is wrong with it when it cannot be used.

    Absent is fine (no problem); unreadable or implausible becomes unknown, with the
    reason, so that a `published: 1e20` or `2999-01-01` never files the story in the
    wrong year."""
    if value is None or value == "":
        return None, ""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    # A number is taken as a Unix timestamp only from 1980 on: 0, 1 or a year count is
    # a wrong field, not 1 January 1970.
    if isinstance(value, bool) or (isinstance(value, int | float) and value < _TIMESTAMPS_FROM):
        return None, f"published {shown} is not a date"
    day = parse_date(value)
    if day is None:
        return None, f"published {shown} is not a date"
    latest = (today or date.today()) + _AHEAD
    if not _EARLIEST <= day <= latest:
        return None, f"published {shown} ({day.isoformat()}) is not a plausible news date"
    return day, ""


def to_day_number(day: date) -> int:
    """Days since 1970-01-01: dates stored as numbers so windows are plain filters."""
    return (day - _EPOCH).days


def from_day_number(days: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + days)
