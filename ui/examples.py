"""The chat's example questions: questions a reader would ask, written from the stored
articles' metadata (titles, dates, the names each article gives), not pasted headlines.

Three forms, each one the bot answers in a way of its own:
- "Why did ECB cut rates to 2.5%?" from the headline "ECB cuts rates to 2.5% as euro
  jumps on German spending plans": a headline that opens with a name the article gives
  and a verb (headlines tell the past in the present tense) becomes a why-question about
  its first clause; an ordinary cited answer.
- "How have Hang Seng targets changed?" where several headlines name one thing of one
  name ("... lifts Hang Seng target to 23,000"): a dated timeline.
- "What moved markets in March 2025?" for the newest month: the brief of its main stories.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from bot.question.words import STOPWORDS

# Where a headline's first clause ends: "ECB cuts rates to 2.5% | as euro jumps ...".
_CLAUSE_END = re.compile(
    r"\s*(?:[,;:](?=\s)|[—–|])|\s+-\s"  # not the comma of "22,600"
    r"|\s+(?:as|after|amid|and|but|while|despite|on|with|following|ahead)\s"
)
# Plural nouns that follow a name as verbs do ("Apple shares fall"), not verbs themselves.
_NOT_VERBS = frozenset(
    """shares stocks sales earnings profits revenues results prices yields futures bonds
    minutes exports imports investors analysts officials talks plans markets options notes
    bosses chiefs workers customers users""".split()  # noqa: SIM905
)
_IRREGULAR = {"goes": "go", "does": "do"}  # "has", "was": too short to be taken
_MAX_QUESTION = 90  # characters; longer ones crowd the chat's example cards
_MIN_REPORTS = 3  # headlines naming one thing of one name before it has a timeline


def example_questions(metadatas: Iterable[Mapping[str, Any]], limit: int = 5) -> list[str]:
    """Up to `limit` questions: why-questions about the newest stories (one per name),
    then how the most reported thing moved, then what moved markets in the newest month."""
    articles = sorted(
        (m for m in metadatas if isinstance(m.get("title"), str)),
        key=lambda m: str(m.get("published") or ""),
        reverse=True,
    )
    closing = [q for q in (_timeline(articles), _brief(articles)) if q]
    whys: list[str] = []
    subjects: set[str] = set()
    for meta in articles:
        asked = _why(str(meta["title"]), _names(meta))
        if asked and asked[0] not in subjects and len(whys) < limit - len(closing):
            subjects.add(asked[0])
            whys.append(asked[1])
    return [*whys, *closing][:limit]


def _names(meta: Mapping[str, Any]) -> list[str]:
    names = meta.get("entities") or []
    return [str(name) for name in names] if isinstance(names, list) else []


def _why(title: str, names: list[str]) -> tuple[str, str] | None:
    """(subject, "Why did <subject> <verb> <first clause>?") for a headline that opens
    with one of `names` (or its first word: "Nikkei slides" for "Nikkei 225") and a verb."""
    title = " ".join(title.split())
    firsts = (name.split()[0] for name in names if name.split())
    subjects = {*names, *(word for word in firsts if word.lower() not in STOPWORDS)}
    for subject in sorted(subjects, key=len, reverse=True):
        match = re.match(rf"{re.escape(subject)} ([a-z]{{3,}}s)\b(.*)$", title)
        if not match or match.group(1) in _NOT_VERBS or match.group(1).endswith("ss"):
            continue
        rest = _CLAUSE_END.split(match.group(2), maxsplit=1)[0].rstrip(" .?!")
        question = f"Why did {subject} {_base_form(match.group(1))}{rest}?"
        return (subject, question) if len(question) <= _MAX_QUESTION else None
    return None


def _base_form(verb: str) -> str:
    """ "cuts" -> "cut", "slashes" -> "slash", "carries" -> "carry", "closes" -> "close"."""
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if verb.endswith(("ches", "shes", "sses", "xes", "zes")):
        return verb[:-2]
    return verb[:-1]


def _timeline(articles: list[Mapping[str, Any]]) -> str | None:
    """ "How have Hang Seng targets changed?": the name and the noun after it that the
    most dated headlines share, when at least `_MIN_REPORTS` do."""
    reports: Counter[tuple[str, str]] = Counter()
    for meta in articles:
        if not meta.get("published"):
            continue
        title = " ".join(str(meta["title"]).split())
        found = set()
        for name in _names(meta):
            for match in re.finditer(rf"\b{re.escape(name)} ([a-z]{{4,}})\b", title):
                noun = match.group(1)
                if not noun.endswith("s") and noun not in STOPWORDS:
                    found.add((name, noun))
        reports.update(found)
    if not reports:
        return None
    (name, noun), count = max(reports.items(), key=lambda item: (item[1], item[0]))
    return f"How have {name} {_plural(noun)} changed?" if count >= _MIN_REPORTS else None


def _plural(noun: str) -> str:
    if noun.endswith(("ch", "sh", "x", "z")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _brief(articles: list[Mapping[str, Any]]) -> str | None:
    """ "What moved markets in March 2025?": the month of the newest dated article."""
    for meta in articles:
        try:
            newest = date.fromisoformat(str(meta.get("published") or "")[:10])
        except ValueError:
            continue
        return f"What moved markets in {newest:%B %Y}?"
    return None
