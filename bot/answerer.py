"""The default, LLM-free answerer: the best sentences of the retrieved passages, cited.

It can only say what an article says, so it never invents; its job is to pick the
sentences that answer the question, drop repeats, and cite each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from bot.lexical import idf_weights, overlap, terms
from bot.retriever import Passage
from bot.types import Source
from ingest.sentences import split_sentences

Encode = Callable[[list[str]], np.ndarray]

MAX_SENTENCES = 4
_MAX_CHARS = 900
_SEMANTIC_WEIGHT = 0.55
_LEXICAL_WEIGHT = 0.45
_TYPE_BONUS = 0.06
# How much the article's own retrieval score (with its date-window bonus) counts: a
# sentence from the article that best fits the question and its time beats a twin
# sentence from an older story.
_ARTICLE_WEIGHT = 0.5
_TITLE_SHARE = 0.3
# Sentences the encoder scores per question; the rest are ranked out by cheap signals.
_SEMANTIC_CANDIDATES = 12
# Short sentences ("Markets swung after the announcement.") match many questions
# loosely and answer none: they pay a small toll.
_SHORT_WORDS = 10
_SHORT_PENALTY = 0.05
# News puts the gist first (inverted pyramid): an article's opening sentences get a lift.
_LEAD_BONUS = (0.04, 0.02)
# When no candidate sentence comes this near the question, the news at hand is about
# something else; a stray shared word ("Peru") must not turn that into an answer. On
# 300 DEV questions 0.30 abstains once and loses no answer that contained the gold.
_MIN_SIMILARITY = 0.30
# A further sentence must score at least this share of the best one to be kept.
_RELATIVE_FLOOR = 0.75
_REPEAT_SIMILARITY = 0.85
_REPEAT_JACCARD = 0.6
_MIN_WORDS = 5

NO_ANSWER = "I could not find an answer to that in the ingested news."

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
_QUESTION_TYPES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"\b(who|whom|which \w+)\b", re.I), _NAME),
    (
        re.compile(
            r"\b(how (?:much|many|far|high|low|old|long)|what (?:level|price|rate|amount))\b", re.I
        ),
        _NUMBER,
    ),
    (re.compile(r"\b(what|which) (?:percentage|share|proportion)\b|\bper ?cent\b", re.I), _PERCENT),
    (re.compile(r"\b(when|what (?:day|date|year))\b", re.I), _DATE_WORDS),
    (re.compile(r"\bwhy\b", re.I), _REASON_WORDS),
]


@dataclass(frozen=True)
class _Sentence:
    article: int  # index into the ranked articles
    position: tuple[int, int]  # (chunk number, sentence number): reading order
    text: str


@dataclass(frozen=True)
class Drafted:
    text: str
    pieces: list[str]
    sources: list[Source]
    abstained: bool


def draft_answer(
    question: str,
    query: str,
    passages: list[Passage],
    encode: Encode,
    dated: bool,
) -> Drafted:
    """Compose 1-4 cited sentences, or an honest "not found".

    `question` is what the user typed (its words pick sentences); `query` is what was
    searched (with a follow-up's earlier context), whose meaning the sentences must match.
    """
    articles = _group_by_article(passages)
    sentences = _candidate_sentences(articles)
    if not sentences:
        return _abstain(articles)
    sentences, prior, sentence_terms = _shortlist(question, sentences, articles)
    # The query rides in the sentences' batch: one encoder call per answer.
    encoded = encode([query, *(s.text for s in sentences)])
    vectors = encoded[1:]
    similarity = vectors @ encoded[0]
    scores = _SEMANTIC_WEIGHT * similarity + prior
    if float(similarity.max()) < _MIN_SIMILARITY:
        return _abstain(articles)
    chosen = _select(scores, vectors, sentence_terms, sentences)
    return _compose(chosen, sentences, articles, dated)


def _shortlist(
    question: str, sentences: list[_Sentence], articles: list[list[Passage]]
) -> tuple[list[_Sentence], np.ndarray, list[set[str]]]:
    """Score what is cheap (terms, article rank, position) and keep the best sentences.

    Encoding sentences is most of an answer's time; the ones kept here are the only
    ones the encoder sees. Returns them with their prior score and terms.
    """
    query_terms = set(terms(question))
    sentence_terms = [set(terms(s.text)) for s in sentences]
    weights = idf_weights(query_terms, sentence_terms)
    # A sentence rarely repeats its story's subject ("the central bank"); the title does.
    title_terms = [set(terms(str(group[0].hit.metadata.get("title", "")))) for group in articles]
    lexical = np.array(
        [
            (1 - _TITLE_SHARE) * overlap(query_terms, t, weights)
            + _TITLE_SHARE * overlap(query_terms, t | title_terms[s.article], weights)
            for s, t in zip(sentences, sentence_terms, strict=True)
        ]
    )
    wanted = [pattern for asks, pattern in _QUESTION_TYPES if asks.search(question)]
    asked = question.lower()
    article_scores = [max(p.score for p in group) for group in articles]
    prior = np.array(
        [
            _LEXICAL_WEIGHT * lexical[i]
            + _ARTICLE_WEIGHT * article_scores[s.article]
            + _TYPE_BONUS * sum(_says_new(p, s.text, asked) for p in wanted)
            + _lead_bonus(s)
            - (_SHORT_PENALTY if len(s.text.split()) < _SHORT_WORDS else 0.0)
            for i, s in enumerate(sentences)
        ]
    )
    keep = sorted(np.argsort(-prior, kind="stable")[:_SEMANTIC_CANDIDATES].tolist())
    return (
        [sentences[i] for i in keep],
        prior[keep],
        [sentence_terms[i] for i in keep],
    )


def _says_new(pattern: re.Pattern[str], text: str, asked: str) -> bool:
    """Whether the sentence has something of the wanted kind the question lacks.

    "How many slogans has Labour unveiled in three years?" is not answered by a sentence
    whose only number is the question's own "three"."""
    return any(match.group(0).lower() not in asked for match in pattern.finditer(text))


def _group_by_article(passages: list[Passage]) -> list[list[Passage]]:
    order: dict[str, list[Passage]] = {}
    for passage in passages:
        order.setdefault(passage.article_id, []).append(passage)
    return [
        sorted(group, key=lambda p: int(p.hit.metadata.get("chunk", 0))) for group in order.values()
    ]


def _candidate_sentences(articles: list[list[Passage]]) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    for index, group in enumerate(articles):
        seen: set[str] = set()  # chunk overlap repeats sentences
        for passage in group:
            chunk = int(passage.hit.metadata.get("chunk", 0))
            for number, text in enumerate(split_sentences(passage.hit.text)):
                # A question in an article (a quiz, a headline) is not its answer.
                if text in seen or len(text.split()) < _MIN_WORDS or text.rstrip().endswith("?"):
                    continue
                seen.add(text)
                sentences.append(_Sentence(index, (chunk, number), text))
    return sentences


def _lead_bonus(sentence: _Sentence) -> float:
    chunk, number = sentence.position
    return _LEAD_BONUS[number] if chunk == 0 and number < len(_LEAD_BONUS) else 0.0


def _select(
    scores: np.ndarray,
    vectors: np.ndarray,
    sentence_terms: list[set[str]],
    sentences: list[_Sentence],
) -> list[int]:
    order = np.argsort(-scores)
    floor = _RELATIVE_FLOOR * float(scores[order[0]])
    chosen: list[int] = []
    length = 0
    for index in (int(i) for i in order):
        if len(chosen) == MAX_SENTENCES or scores[index] < floor:
            break
        text = sentences[index].text
        if chosen and length + len(text) > _MAX_CHARS:
            continue
        if any(_repeats(index, other, vectors, sentence_terms) for other in chosen):
            continue
        chosen.append(index)
        length += len(text)
    return chosen


def _repeats(a: int, b: int, vectors: np.ndarray, sentence_terms: list[set[str]]) -> bool:
    if float(vectors[a] @ vectors[b]) > _REPEAT_SIMILARITY:
        return True
    union = sentence_terms[a] | sentence_terms[b]
    return bool(union) and len(sentence_terms[a] & sentence_terms[b]) / len(union) > _REPEAT_JACCARD


def _compose(
    chosen: list[int],
    sentences: list[_Sentence],
    articles: list[list[Passage]],
    dated: bool,
) -> Drafted:
    # Articles in the order of their best sentence; each article's sentences as written.
    article_rank = {sentences[i].article: rank for rank, i in reversed(list(enumerate(chosen)))}
    ordered = sorted(
        chosen, key=lambda i: (article_rank[sentences[i].article], sentences[i].position)
    )
    quotes: dict[int, list[str]] = {}
    pieces: list[str] = []
    for i in ordered:
        sentence = sentences[i]
        n = sentence.article + 1
        published = articles[sentence.article][0].hit.metadata.get("published")
        prefix = ""
        if dated and published and sentence.article not in quotes:
            prefix = f"On {_readable(str(published))}: "
        quotes.setdefault(sentence.article, []).append(sentence.text)
        pieces.append(f"{prefix}{sentence.text} [{n}]")
    text = " ".join(pieces)
    return Drafted(text, _spaced(pieces), _sources(articles, quotes), abstained=False)


def _spaced(pieces: list[str]) -> list[str]:
    return [piece if i == 0 else " " + piece for i, piece in enumerate(pieces)]


def _readable(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%-d %b %Y")


def _abstain(articles: list[list[Passage]]) -> Drafted:
    return Drafted(NO_ANSWER, [NO_ANSWER], _sources(articles, {}), abstained=True)


def _sources(articles: list[list[Passage]], quotes: dict[int, list[str]]) -> list[Source]:
    sources = []
    for index, group in enumerate(articles):
        meta = group[0].hit.metadata
        sources.append(
            Source(
                n=index + 1,
                article_id=group[0].article_id,
                title=str(meta.get("title", "")),
                source=str(meta.get("source", "")),
                url=str(meta.get("url", "")),
                published=str(meta["published"]) if meta.get("published") else None,
                text=" … ".join(p.hit.text for p in group),
                quote=" ".join(quotes.get(index, [])),
                score=round(max(p.score for p in group), 4),
            )
        )
    return sources
