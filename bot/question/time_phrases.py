"""Dates inside questions: an `As of YYYY-MM-DD:` prefix and relative windows.

"This week" means something only against a reference date (`as_of`); the window is
used to prefer articles from that time, never to invent a date.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot import tuning

_AS_OF = re.compile(r"^\s*as of (\d{4}-\d{2}-\d{2})\s*[:,]\s*", re.IGNORECASE)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH_YEAR = re.compile(
    r"\b(?:in|during|of|since)\s+(" + "|".join(_MONTHS) + r")\.?(?:\s+(\d{4}))?\b", re.IGNORECASE
)
_YEAR = re.compile(r"\b(?:in|during)\s+((?:19|20)\d{2})\b", re.IGNORECASE)
_TIME_WORDS = re.compile(
    r"\b(when|what (?:day|date|time)|how long ago|today|yesterday|this week|last week|"
    r"this month|last month|latest|recent(?:ly)?|most recent|newest|current(?:ly)?|now)\b",
    re.IGNORECASE,
)


# "Recently", "the latest": news of the last few weeks before the reference date.
_LATEST = re.compile(r"\b(latest|most recent(?:ly)?|recently|newest)\b")


def split_as_of(question: str) -> tuple[str, date | None]:
    """`As of 2025-02-21: Who ...?` -> (`Who ...?`, 2025-02-21)."""
    match = _AS_OF.match(question)
    if not match:
        return question.strip(), None
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        return question.strip(), None
    return question[match.end() :].strip(), day


def asks_about_time(question: str) -> bool:
    return bool(_TIME_WORDS.search(question) or time_window(question, date.today()))


def time_window(question: str, as_of: date) -> tuple[date, date] | None:
    """The span of days a question's own words point at, if any."""
    text = question.lower()
    if "yesterday" in text:
        day = as_of - timedelta(days=1)
        return day, day
    if "today" in text:
        return as_of, as_of
    if "last week" in text or "past week" in text:
        return as_of - timedelta(days=tuning.LAST_WEEK_DAYS), as_of
    if "this week" in text:
        return as_of - timedelta(days=tuning.THIS_WEEK_DAYS), as_of
    if _LATEST.search(text):
        return as_of - timedelta(days=tuning.LATEST_DAYS), as_of
    if "last month" in text or "past month" in text:
        return as_of - timedelta(days=tuning.LAST_MONTH_DAYS), as_of
    if "this month" in text:
        return as_of - timedelta(days=tuning.THIS_MONTH_DAYS), as_of
    match = _MONTH_YEAR.search(question)
    if match:
        month = _MONTHS[match.group(1).lower()]
        year = int(match.group(2)) if match.group(2) else _latest_year_of(month, as_of)
        start = date(year, month, 1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return start, end
    match = _YEAR.search(question)
    if match:
        year = int(match.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    return None


_RELATIVE = re.compile(
    r"\b(?:today|yesterday|(?:this|last|past) (?:week|month|year))\b", re.IGNORECASE
)


def without_time_phrases(question: str) -> str:
    """The question minus the words that only say when ("in December 2024", "this week").

    Those words become a date window; left in, they would make the term matcher prefer
    sentences that mention a month over sentences that answer the question.
    """
    for pattern in (_MONTH_YEAR, _YEAR, _RELATIVE):
        question = pattern.sub(" ", question)
    return re.sub(r"\s+", " ", question).strip()


def _latest_year_of(month: int, as_of: date) -> int:
    return as_of.year if month <= as_of.month else as_of.year - 1
