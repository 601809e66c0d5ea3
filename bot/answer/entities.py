"""Names in a question that the news at hand never mentions.

Asked "What did Apple report for iPhone sales?" over news with no Apple story, the
best sentences are about some other company's sales: similar in meaning, useless as an
answer. A name (a company, person, place, index or ticker) that none of the retrieved
passages mentions says the news has nothing about it, whatever the scores say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.question.words import STOPWORDS

# Capitalised words in a row ("Federated Hermes", "Hang Seng"), camel case ("iPhone"),
# tickers ("9988.HK", "AAPL").
_NAME = re.compile(
    r"\b(?:[A-Z][\w&'’.-]*(?:\s+(?:of\s+|de\s+|&\s+)?[A-Z][\w&'’.-]*)*"
    r"|[a-z]+[A-Z]\w*|\d{3,5}\.[A-Z]{1,3})"
)
_PIECE = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"['’]s$")
# Capitalised only because they open the question or name a time, not a thing.
_NOT_NAMES = frozenset(
    """tell name list give explain describe compare show find summarise summarize please
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()  # noqa: SIM905
)


def question_names(question: str) -> list[str]:
    """The names a question asks about, as written ("Apple", "Hang Seng")."""
    names = []
    for match in _NAME.finditer(question):
        words = [_POSSESSIVE.sub("", word.rstrip(".")) for word in match.group(0).split()]
        while words and words[0].lower() in STOPWORDS | _NOT_NAMES:
            words.pop(0)
        if words and not (len(words) == 1 and words[0].lower() in _NOT_NAMES):
            names.append(" ".join(words))
    return list(dict.fromkeys(names))


def missing_names(names: list[str], texts: Iterable[str]) -> list[str]:
    """The names that no text mentions (every word of a name, in any case)."""
    if not names:
        return []
    seen = set(_PIECE.findall(" ".join(texts).lower()))
    return [name for name in names if not set(_PIECE.findall(name.lower())) <= seen]


def nothing_about(names: list[str]) -> str:
    """What the bot says when the news has nothing about these names."""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"I found nothing about {listed} in the ingested news."
