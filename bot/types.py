"""What `NewsBot.ask` returns: an answer and the articles it stands on; what it takes as
a conversation; and the stream of an answer being written."""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal, TypedDict

NO_ANSWER = "I could not find an answer to that in the ingested news."
EMPTY_CORPUS = "No news has been ingested yet. Add some with `newsbot ingest PATH_OR_URL`."


class Turn(TypedDict):
    """One message of a conversation, as chat APIs (and gradio) write them."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Source:
    """One retrieved article; `n` is the number its `[n]` markers use."""

    n: int
    article_id: str
    title: str
    publisher: str
    url: str
    published: date | None  # None when the article's date is unknown
    text: str  # the retrieved passages of the article
    quote: str  # the sentences the answer used; empty when it was not cited
    score: float

    @property
    def cited(self) -> bool:
        return bool(self.quote)

    @property
    def source(self) -> str:
        """Deprecated name of `publisher` (it read as if it meant the article)."""
        warnings.warn(
            "Source.source is deprecated; use Source.publisher", DeprecationWarning, stacklevel=2
        )
        return self.publisher

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; `source` repeats `publisher` for one release, for older readers."""
        fields = asdict(self)
        published = fields["published"].isoformat() if self.published else None
        return {**fields, "published": published, "source": self.publisher, "cited": self.cited}


@dataclass(frozen=True)
class Passage:
    """One passage `NewsBot.search` found: a chunk of an article, with what cites it."""

    text: str
    title: str
    publisher: str
    url: str
    published: date | None
    article_id: str
    chunk_id: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        return {**fields, "published": self.published.isoformat() if self.published else None}


@dataclass(frozen=True)
class Answer:
    """Answer text with `[n]` markers, and the sources those markers point to."""

    question: str
    text: str
    sources: list[Source] = field(default_factory=list)
    searched: str = ""  # the query actually searched, when it differs from the question
    as_of: date | None = None
    abstained: bool = False
    seconds: float = 0.0
    # How near the best sentence came to the question: the reranker's relevance (0-1),
    # or cosine without a reranker; the bot abstains below its `min_evidence` setting.
    evidence: float = 0.0
    # Seconds per stage of the answer: search, read, check, compose.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cited_sources(self) -> list[Source]:
        return [s for s in self.sources if s.cited]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "sources": [s.to_dict() for s in self.sources],
            "searched": self.searched,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "abstained": self.abstained,
            "evidence": round(self.evidence, 4),
            "seconds": round(self.seconds, 4),
            "timings": {stage: round(value, 4) for stage, value in self.timings.items()},
        }


class AnswerStream(Iterator[str]):
    """An answer being written: iterate for its text as it comes, then read `answer`.

    >>> stream = nb.stream("Who raised Hang Seng targets?")   # doctest: +SKIP
    >>> for text in stream: print(text, end="")               # doctest: +SKIP
    >>> stream.answer.sources                                 # doctest: +SKIP

    The text streamed is what the writer wrote; `answer.text` is the answer after the
    check against the sources, which can differ when a language model writes.
    """

    def __init__(self, pieces: Generator[str, None, Answer]) -> None:
        self._pieces = pieces
        self._answer: Answer | None = None

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except StopIteration as finished:
            if self._answer is None:  # a spent generator stops again with no value
                self._answer = finished.value
            raise

    @property
    def answer(self) -> Answer:
        """The final answer; reading it before the text is consumed writes the rest."""
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer
