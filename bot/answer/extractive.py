"""The default, LLM-free answerer: the best sentences of the retrieved passages, cited.

It can only say what an article says, so it never invents; its job is to pick the
sentences that answer the question, drop repeats, and cite each one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np

from bot import tuning
from bot.answer.corrections import is_correction, superseded
from bot.answer.entities import missing_names, nothing_about, question_names
from bot.answer.sentence_features import (
    FEATURES,
    PRIOR_WEIGHTS,
    WEIGHTS,
    WEIGHTS_WITHOUT_RERANK,
    Sentence,
    sentence_features,
)
from bot.question.asking import ask_clause
from bot.retrieval.retriever import Passage
from bot.types import NO_ANSWER, Source
from ingest.dates import parse_date
from ingest.encoders.reranker import Reranker
from ingest.sentences import split_sentences

Encode = Callable[[list[str]], np.ndarray]

# Where the reranker reads while the encoder does: threads are made as needed, and the
# models' calls release the GIL.
_READERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="newsbot-rerank")

_MIN_WORDS = 5


@dataclass(frozen=True)
class Drafted:
    text: str
    pieces: list[str]
    sources: list[Source]
    abstained: bool
    evidence: float = 0.0  # how well the best sentence answers: see `Answer.evidence`
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


def draft_answer(
    question: str,
    query: str,
    passages: list[Passage],
    encode: Encode,
    dated: bool,
    min_evidence: float,
    reader: Reranker | None = None,
    reading: str | None = None,
) -> Drafted:
    """Compose 1-4 cited sentences, or an honest "not found".

    `question` is what the user typed (its words pick sentences); `query` is what was
    searched (with a follow-up's earlier context), whose meaning the sentences must match;
    `reading` is what the cross-encoder (`reader`) reads beside each sentence (`query`
    when not given).
    When no sentence comes `min_evidence` near the query, the news at hand is about
    something else, and a stray shared word ("Peru") must not turn that into an answer.
    So does a question whose names (companies, people, places) no passage mentions.
    """
    articles = group_by_article(passages)
    sentences = candidate_sentences(articles)
    if not sentences:
        return _abstain(articles)
    # Not one of the names asked about in the passages: the news has nothing on them.
    # (Abstaining when any one name was missing lost 8 of 123 contained answers on the
    # full DEV eval, where questions set a scene with names the answer need not repeat.)
    names = question_names(question)
    titles = _titles(articles)
    missing = missing_names(names, [p.hit.text for p in passages] + titles)
    if names and len(missing) == len(names):
        return _abstain(articles, message=nothing_about(missing))
    corrections = {
        index: " ".join(p.hit.text for p in group)
        for index, (title, group) in enumerate(zip(titles, articles, strict=True))
        if is_correction(title, group[0].hit.text)
    }
    sentences = superseded(sentences, corrections)
    # Without the cross-encoder, the weights fitted without its column.
    weights = WEIGHTS if reader is not None else WEIGHTS_WITHOUT_RERANK
    sentences, prior, sentence_terms = _shortlist(question, sentences, weights)
    started = time.perf_counter()
    texts = [s.text for s in sentences]
    reading = reading or query
    # The two models read the shortlist side by side, each on a core of its own.
    reranked = _READERS.submit(reader.score, reading, texts) if reader else None
    # The query and its asking clause ride in the sentences' batch: one encoder call.
    encoded = encode([query, ask_clause(query), *texts])
    relevance = reranked.result() if reranked else None
    timings = {"read": time.perf_counter() - started}
    vectors = encoded[2:]
    similarity = vectors @ encoded[0]
    scores = (
        weights["similarity"] * similarity
        + weights["similarity_ask"] * (vectors @ encoded[1])
        + prior
    )
    if relevance is not None:
        scores = scores + WEIGHTS["rerank"] * relevance
    chosen = _select(scores, vectors, sentence_terms, sentences)
    if reader is None or relevance is None:
        evidence = float(similarity.max())
    else:
        # Whether the news is about the question at all is judged on the whole question:
        # the asking clause alone ("Mardi Gras is French for what?") is the better guide
        # to which sentence answers, but a worse one to abstain on (full DEV eval: 4.7%
        # of contained answers lost at a threshold that abstained on 23% of unanswerable).
        # Read whole beside the sentences that would answer only, not all 16: a quarter
        # of the reading, and the answer given is what must be about the question (full
        # DEV eval: abstention on unanswerable 0.408 -> 0.432, containment 0.413 -> 0.410).
        whole = relevance
        if reading != query:
            checked_at = time.perf_counter()
            whole = reader.score(query, [texts[i] for i in chosen])
            timings["check"] = time.perf_counter() - checked_at
        evidence = _probability(float(whole.max()))
    if evidence < min_evidence:
        return replace(_abstain(articles, evidence), timings=timings)
    return replace(_compose(chosen, sentences, articles, dated), evidence=evidence, timings=timings)


def _probability(logit: float) -> float:
    """A cross-encoder's logit as the probability that the text answers the question."""
    return 1.0 / (1.0 + math.exp(-logit))


def _titles(articles: list[list[Passage]]) -> list[str]:
    return [str(group[0].hit.metadata.get("title") or "") for group in articles]


def _shortlist(
    question: str, sentences: list[Sentence], weights: dict[str, float]
) -> tuple[list[Sentence], np.ndarray, list[set[str]]]:
    """Score what is cheap (terms, article rank, position) and keep the best sentences.

    Encoding sentences is most of an answer's time; the ones kept here are the only
    ones the encoder sees. Returns them with their score by `weights`' cheap features,
    and their terms.
    """
    features, sentence_terms = sentence_features(question, sentences)
    keep = shortlisted(features @ np.array([PRIOR_WEIGHTS[name] for name in FEATURES]))
    prior = features[keep] @ np.array([weights[name] for name in FEATURES])
    return (
        [sentences[i] for i in keep],
        prior,
        [sentence_terms[i] for i in keep],
    )


def shortlisted(cheap_scores: np.ndarray) -> list[int]:
    """The indices, in reading order, of the `tuning.SHORTLIST_SIZE` best cheap scores."""
    return sorted(np.argsort(-cheap_scores, kind="stable")[: tuning.SHORTLIST_SIZE].tolist())


def group_by_article(passages: list[Passage]) -> list[list[Passage]]:
    order: dict[str, list[Passage]] = {}
    for passage in passages:
        order.setdefault(passage.article_id, []).append(passage)
    return [
        sorted(group, key=lambda p: int(p.hit.metadata.get("chunk", 0))) for group in order.values()
    ]


def candidate_sentences(articles: list[list[Passage]]) -> list[Sentence]:
    """Every sentence of the passages that could answer: not too short, not a question."""
    sentences: list[Sentence] = []
    for index, group in enumerate(articles):
        seen: set[str] = set()  # chunk overlap repeats sentences
        title = str(group[0].hit.metadata.get("title") or "")
        article_score = max(p.score for p in group)
        for passage in group:
            chunk = int(passage.hit.metadata.get("chunk", 0))
            for number, text in enumerate(split_sentences(passage.hit.text)):
                # A question in an article (a quiz, a headline) is not its answer.
                if text in seen or len(text.split()) < _MIN_WORDS or text.rstrip().endswith("?"):
                    continue
                seen.add(text)
                sentences.append(Sentence(index, (chunk, number), text, title, article_score))
    return sentences


def _select(
    scores: np.ndarray,
    vectors: np.ndarray,
    sentence_terms: list[set[str]],
    sentences: list[Sentence],
) -> list[int]:
    order = np.argsort(-scores)
    floor = float(scores[order[0]]) - tuning.FLOOR_GAP
    chosen: list[int] = []
    length = 0
    for index in (int(i) for i in order):
        if len(chosen) == tuning.MAX_SENTENCES or scores[index] < floor:
            break
        text = sentences[index].text
        if chosen and length + len(text) > tuning.MAX_ANSWER_CHARS:
            continue
        if any(_repeats(index, other, vectors, sentence_terms) for other in chosen):
            continue
        chosen.append(index)
        length += len(text)
    return chosen


def _repeats(a: int, b: int, vectors: np.ndarray, sentence_terms: list[set[str]]) -> bool:
    if float(vectors[a] @ vectors[b]) > tuning.REPEAT_SIMILARITY:
        return True
    union = sentence_terms[a] | sentence_terms[b]
    return (
        bool(union)
        and len(sentence_terms[a] & sentence_terms[b]) / len(union) > tuning.REPEAT_JACCARD
    )


def _compose(
    chosen: list[int],
    sentences: list[Sentence],
    articles: list[list[Passage]],
    dated: bool,
) -> Drafted:
    # The best sentence first: it is the answer. The others follow by article, in the
    # order of each article's best sentence, and as written within an article.
    article_rank = {sentences[i].article: rank for rank, i in reversed(list(enumerate(chosen)))}
    ordered = chosen[:1] + sorted(
        chosen[1:], key=lambda i: (article_rank[sentences[i].article], sentences[i].position)
    )
    quotes: dict[int, list[str]] = {}
    pieces: list[str] = []
    for i in ordered:
        sentence = sentences[i]
        published = articles[sentence.article][0].hit.metadata.get("published")
        prefix = ""
        if dated and published and sentence.article not in quotes:
            prefix = f"On {readable(str(published))}: "
        n = cite(quotes, sentence.article, sentence.text)
        pieces.append(f"{prefix}{sentence.text} [{n}]")
    text = " ".join(pieces)
    return Drafted(text, _spaced(pieces), sources_of(articles, quotes), abstained=False)


def _spaced(pieces: list[str]) -> list[str]:
    return [piece if i == 0 else " " + piece for i, piece in enumerate(pieces)]


def readable(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%-d %b %Y")


def _abstain(
    articles: list[list[Passage]], evidence: float = 0.0, message: str = NO_ANSWER
) -> Drafted:
    """No answer, said plainly; the articles looked at stay listed, none of them cited."""
    return Drafted(message, [message], sources_of(articles, {}), True, evidence)


def cite(quotes: dict[int, list[str]], article: int, sentence: str) -> int:
    """Records `sentence` as cited from the article of index `article`, and returns that
    article's marker: articles are numbered in the order the answer first cites them, so
    a reader meets [1], [2], [3] in turn (`sources_of` numbers the sources alike)."""
    quotes.setdefault(article, []).append(sentence)
    return list(quotes).index(article) + 1


def sources_of(articles: list[list[Passage]], quotes: dict[int, list[str]]) -> list[Source]:
    """The articles as numbered sources: the cited ones first, in the order `cite` numbered
    them (`quotes`: the sentences cited of each, by article index), then the others in
    the order they were retrieved."""
    order = list(quotes) + [index for index in range(len(articles)) if index not in quotes]
    sources = []
    for n, index in enumerate(order, start=1):
        group = articles[index]
        meta = group[0].hit.metadata
        sources.append(
            Source(
                n=n,
                article_id=group[0].article_id,
                title=str(meta.get("title", "")),
                publisher=str(meta.get("source", "")),
                url=str(meta.get("url", "")),
                published=parse_date(meta.get("published")),
                text=" … ".join(p.hit.text for p in group),
                quote=" ".join(quotes.get(index, [])),
                score=round(max(p.score for p in group), 4),
            )
        )
    return sources
