"""Questions rewritten as the few words a search box gets ("Hang Seng targets raised").

Users type both forms; a reader that only answers well-formed questions would fail the
other. `newsbot eval --search-phrases` asks every question in this form, so the two can
be compared on the same news: the question words, auxiliaries and articles go, the
words that carry the topic stay in their order.
"""

from __future__ import annotations

import re

_DROPPED = frozenset(
    [
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "where",
        "when",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "should",
        "shall",
        "may",
        "might",
        "must",
        "be",
        "been",
        "being",
        "a",
        "an",
        "the",
    ]
)
_AFTER_HOW = frozenset(["much", "many"])
_DANGLING = frozenset(["and", "or", "but", "of", "for", "to", "with"])
_WORD = re.compile(r"[\w$%€£¥'’-]+(?:[.,][\w]+)*\.?")


def as_search_phrase(question: str) -> str:
    """`question` without its question words, auxiliaries, articles and marks."""
    kept: list[str] = []
    previous = ""
    for word in _WORD.findall(question):
        lower = word.lower().rstrip(".")
        if lower not in _DROPPED and not (previous == "how" and lower in _AFTER_HOW):
            kept.append(word if word.count(".") > 1 else word.rstrip("."))
        previous = lower
    while kept and kept[-1].lower() in _DANGLING:
        kept.pop()
    return " ".join(kept) or question
