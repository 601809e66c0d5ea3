"""Reading publication dates; an unreadable date is unknown (None), never guessed."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

_EPOCH = date(1970, 1, 1)
_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}")


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
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).date()
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


def to_day_number(day: date) -> int:
    """Days since 1970-01-01: dates stored as numbers so windows are plain filters."""
    return (day - _EPOCH).days


def from_day_number(days: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + days)
