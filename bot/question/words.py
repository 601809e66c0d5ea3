"""Term matching: dense models blur names, tickers and numbers; exact terms do not."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    yourself said says say also new one two according week year month day today yesterday
    recently latest this last next per percent much many recent""".split()  # noqa: SIM905
)


def terms(text: str) -> list[str]:
    """Lowercased content words; "24,000" and "24000" become the same term."""
    words = (w.replace(",", "") if w[0].isdigit() else w for w in _TOKEN.findall(text.lower()))
    return [_stem(w) for w in words if (w not in STOPWORDS and len(w) > 1) or w.isdigit()]


def keywords(text: str) -> list[str]:
    """The question's content words as written, for the BM25 index (which stems itself)."""
    words = dict.fromkeys(w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS)
    return [w for w in words if len(w) > 1 or w.isdigit()]


@functools.lru_cache(maxsize=200_000)  # news reuses its words: most stems are repeats
def _stem(word: str) -> str:
    """A light plural/verb-ending fold: 'targets' matches 'target', 'raised' 'raise'."""
    if word[0].isdigit() or len(word) <= 4:
        return word
    for suffix in ("ies", "es", "s", "ed", "ing", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def idf_weights(query_terms: Iterable[str], documents: Sequence[set[str]]) -> dict[str, float]:
    """Rarer terms among the candidates weigh more; a term in every candidate, little."""
    total = len(documents)
    return {
        term: math.log(1 + (total + 1) / (1 + sum(term in doc for doc in documents)))
        for term in set(query_terms)
    }


def overlap(query_terms: set[str], document: set[str], weights: dict[str, float]) -> float:
    """Weighted share of the query's terms found in the document, 0..1."""
    total = sum(weights.get(t, 1.0) for t in query_terms)
    if not total:
        return 0.0
    return sum(weights.get(t, 1.0) for t in query_terms & document) / total
