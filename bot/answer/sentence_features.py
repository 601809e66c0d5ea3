"""What the answerer knows about a candidate sentence before the encoder sees it.

Each sentence becomes a row of cheap features (term overlap, the article's retrieval
score, whether it holds the kind of thing asked for, its place in the article); the
answerer ranks by a weighted sum of these plus the encoder's similarity. The weights are
fitted on real news questions by `python -m bench.fit_answerer`, not set by hand.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.question.asking import ask_clause
from bot.question.words import idf_weights, overlap, terms


@dataclass(frozen=True)
class Sentence:
    article: int  # index into the ranked articles
    position: tuple[int, int]  # (chunk number, sentence number): reading order
    text: str
    title: str  # its article's title
    article_score: float  # its article's retrieval score (with the date bonuses)


_NUMBER = re.compile(
    r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"dozen|hundred|thousand|million|billion|trillion|half)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"\d\s*(?:%|per ?cent|percentage points?)", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-zA-Z&'-]+(?:\s+[A-Z][a-zA-Z&'-]+)*")
_DATE_WORDS = re.compile(
    r"\b(\d{4}|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|today|week|month|quarter)\b",
    re.IGNORECASE,
)
_REASON_WORDS = re.compile(
    r"\b(because|citing|cited|due to|as a result|driven|driving|after|amid|on the back of|"
    r"reason|since|thanks to|owing to|so that|fuel(?:ed|led)?|spurred|prompted)\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"[\"“”]")
# (what the question asks, what a sentence answering it contains)
_ASKS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "asks_who_has_name": (re.compile(r"\b(who|whom|which \w+)\b", re.I), _NAME),
    "asks_amount_has_number": (
        re.compile(
            r"\b(how (?:much|many|far|high|low|old|long)|what (?:level|price|rate|amount))\b",
            re.I,
        ),
        _NUMBER,
    ),
    "asks_share_has_percent": (
        re.compile(r"\b(what|which) (?:percentage|share|proportion)\b|\bper ?cent\b", re.I),
        _PERCENT,
    ),
    "asks_when_has_date": (re.compile(r"\b(when|what (?:day|date|year))\b", re.I), _DATE_WORDS),
    "asks_why_has_reason": (re.compile(r"\bwhy\b", re.I), _REASON_WORDS),
}

# The encoder's cosine similarities (to the whole question, and to its asking clause),
# and the cross-encoder's relevance logit.
ENCODED = ("similarity", "similarity_ask", "rerank")
FEATURES = (
    "overlap",  # idf-weighted share of the question's terms in the sentence
    "overlap_ask",  # the same for the asking clause ("Mardi Gras is French for what?")
    "overlap_with_title",  # the same, counting the title's terms as the sentence's
    "overlap_previous",  # the sentence before it: the answer often follows the match
    "title_overlap",
    "article_score",
    "first_article",
    *_ASKS,
    "has_new_name",  # a name the question does not mention, whatever it asks
    "has_new_number",
    "novelty",  # share of the sentence's terms that are not the question's
    "first_sentence",
    "second_sentence",
    "later_chunk",
    "short",
    "log_words",
    "quote",
)
_SHORT_WORDS = 10
# Fitted by `python -m bench.fit_answerer` (900 DEV questions, seed 1, the eval's
# 300 left out): a sentence's log-odds of holding the answer, up to a constant.
WEIGHTS: dict[str, float] = {
    "similarity": 5.123,
    "similarity_ask": -4.974,
    "rerank": 0.313,
    "overlap": -0.741,
    "overlap_ask": -0.366,
    "overlap_with_title": 1.669,
    "overlap_previous": -0.129,
    "title_overlap": -2.055,
    "article_score": 11.494,
    "first_article": -0.441,
    "asks_who_has_name": 1.150,
    "asks_amount_has_number": 4.058,
    "asks_share_has_percent": 4.737,
    "asks_when_has_date": 0.576,
    "asks_why_has_reason": 0.000,
    "has_new_name": 0.040,
    "has_new_number": 0.215,
    "novelty": 2.646,
    "first_sentence": 1.257,
    "second_sentence": 0.339,
    "later_chunk": 0.256,
    "short": 1.447,
    "log_words": 0.494,
    "quote": -0.177,
}
# For `reader=none`: fitted the same way without the cross-encoder's column.
WEIGHTS_WITHOUT_RERANK: dict[str, float] = {
    "similarity": 3.912,
    "similarity_ask": 1.701,
    "overlap": 1.061,
    "overlap_ask": 1.403,
    "overlap_with_title": 1.331,
    "overlap_previous": 0.014,
    "title_overlap": -2.008,
    "article_score": 11.875,
    "first_article": -0.433,
    "asks_who_has_name": 1.369,
    "asks_amount_has_number": 4.390,
    "asks_share_has_percent": 5.262,
    "asks_when_has_date": 1.251,
    "asks_why_has_reason": 0.000,
    "has_new_name": 0.119,
    "has_new_number": 0.254,
    "novelty": 2.684,
    "first_sentence": 1.357,
    "second_sentence": 0.442,
    "later_chunk": 0.150,
    "short": 1.515,
    "log_words": 0.603,
    "quote": -0.233,
}
# The shortlist's: the cheap features alone, fitted on their own by the same command.
PRIOR_WEIGHTS: dict[str, float] = {
    "overlap": 1.842,
    "overlap_ask": 2.013,
    "overlap_with_title": 0.751,
    "overlap_previous": 0.702,
    "title_overlap": -1.946,
    "article_score": 10.018,
    "first_article": -0.166,
    "asks_who_has_name": 1.250,
    "asks_amount_has_number": 3.304,
    "asks_share_has_percent": 3.290,
    "asks_when_has_date": 2.107,
    "asks_why_has_reason": 0.000,
    "has_new_name": 0.407,
    "has_new_number": 0.405,
    "novelty": -1.040,
    "first_sentence": 1.466,
    "second_sentence": 0.410,
    "later_chunk": 0.032,
    "short": 1.519,
    "log_words": 1.090,
    "quote": -0.194,
}


def sentence_features(
    question: str, sentences: Sequence[Sentence]
) -> tuple[np.ndarray, list[set[str]]]:
    """One row per sentence, in `FEATURES` order, and each sentence's terms."""
    query_terms = set(terms(question))
    ask_terms = set(terms(ask_clause(question)))
    sentence_terms = [set(terms(s.text)) for s in sentences]
    weights = idf_weights(query_terms, sentence_terms)
    asked = question.lower()
    wanted = [name for name, (asks, _) in _ASKS.items() if asks.search(question)]
    title_terms: dict[str, set[str]] = {}
    rows = []
    previous: set[str] = set()
    for index, (sentence, own) in enumerate(zip(sentences, sentence_terms, strict=True)):
        if index == 0 or sentences[index - 1].article != sentence.article:
            previous = set()
        if sentence.title not in title_terms:
            title_terms[sentence.title] = set(terms(sentence.title))
        title = title_terms[sentence.title]
        chunk, number = sentence.position
        words = len(sentence.text.split())
        row = {
            "overlap": overlap(query_terms, own, weights),
            "overlap_ask": overlap(ask_terms, own, weights),
            "overlap_with_title": overlap(query_terms, own | title, weights),
            "overlap_previous": overlap(query_terms, previous, weights),
            "title_overlap": overlap(query_terms, title, weights),
            "article_score": sentence.article_score,
            "first_article": float(sentence.article == 0),
            **{
                name: float(name in wanted and _says_new(_ASKS[name][1], sentence.text, asked))
                for name in _ASKS
            },
            "has_new_name": float(_says_new(_NAME, sentence.text, asked)),
            "has_new_number": float(_says_new(_NUMBER, sentence.text, asked)),
            "novelty": len(own - query_terms) / len(own) if own else 0.0,
            "first_sentence": float(chunk == 0 and number == 0),
            "second_sentence": float(chunk == 0 and number == 1),
            "later_chunk": min(chunk, 5) / 5,
            "short": float(words < _SHORT_WORDS),
            "log_words": math.log(words),
            "quote": float(bool(_QUOTE.search(sentence.text))),
        }
        rows.append([row[name] for name in FEATURES])
        previous = own
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)), sentence_terms


def _says_new(pattern: re.Pattern[str], text: str, asked: str) -> bool:
    """Whether the sentence has something of the wanted kind the question lacks.

    "How many slogans has Labour unveiled in three years?" is not answered by a sentence
    whose only number is the question's own "three"."""
    return any(match.group(0).lower() not in asked for match in pattern.finditer(text))
