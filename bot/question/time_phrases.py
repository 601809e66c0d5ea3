"""Dates inside questions: an `As of YYYY-MM-DD:` prefix and relative windows.

"This week" means something only against a reference date (`as_of`); the window is
used to prefer articles from that time, never to invent a date. Without a reference date
given, "this week" counts from today, unless the news ends before its span: then from the
newest news, and the answer says so (`latest_instead`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Span:
    """The days a phrase that counts back from the reference date covers, and how a
    sentence names them ("this week")."""

    first: date
    last: date
    named: str

    def moved(self, days: int) -> Span:
        shift = timedelta(days=days)
        return Span(self.first + shift, self.last + shift, self.named)

    def readable(self) -> str:
        """ "27 Feb–6 Mar 2025", "6 Mar 2025", "28 Dec 2024–3 Jan 2025"."""
        if self.first == self.last:
            return f"{self.last:%-d %b %Y}"
        year = "" if self.first.year == self.last.year else f" {self.first.year}"
        return f"{self.first:%-d %b}{year}–{self.last:%-d %b %Y}"


def relative_span(question: str, as_of: date) -> Span | None:
    """The span of a phrase that counts back from `as_of` ("today", "this week", "the
    latest"), if the question has one; a month or year it names is not relative."""
    text = question.lower()
    if "yesterday" in text:
        day = as_of - timedelta(days=1)
        return Span(day, day, "yesterday")
    if "today" in text:
        return Span(as_of, as_of, "today")
    if "last week" in text or "past week" in text:
        return _back(as_of, tuning.LAST_WEEK_DAYS, "last week")
    if "this week" in text:
        return _back(as_of, tuning.THIS_WEEK_DAYS, "this week")
    if _LATEST.search(text):
        return _back(as_of, tuning.LATEST_DAYS, "recent weeks")
    if "last month" in text or "past month" in text:
        return _back(as_of, tuning.LAST_MONTH_DAYS, "last month")
    if "this month" in text:
        return _back(as_of, tuning.THIS_MONTH_DAYS, "this month")
    return None


def _back(as_of: date, days: int, named: str) -> Span:
    return Span(as_of - timedelta(days=days), as_of, named)


def latest_instead(question: str, today: date, newest: date) -> tuple[date, str] | None:
    """A reference date that gives a relative phrase news, and the note that says so.

    "This week" counted from today finds nothing in news that ends months ago; the
    phrase then counts from the newest news instead (its span moved to end there), and
    the answer opens with the note. None: no relative phrase, or news in its span."""
    asked = relative_span(question, today)
    if asked is None or newest >= asked.first:
        return None
    shift = (newest - asked.last).days
    latest = asked.moved(shift)
    note = (
        f"No news is stored for {asked.named} ({asked.readable()}); "
        f"the latest news is from {latest.readable()}:"
    )
    return today + timedelta(days=shift), note


def time_window(question: str, as_of: date) -> tuple[date, date] | None:
    """The span of days a question's own words point at, if any."""
    span = relative_span(question, as_of)
    if span is not None:
        return span.first, span.last
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
