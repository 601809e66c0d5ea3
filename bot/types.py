"""What `NewsBot.ask` returns: an answer and the articles it stands on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

NO_ANSWER = "I could not find an answer to that in the ingested news."


@dataclass(frozen=True)
class Source:
    """One retrieved article; `n` is the number its `[n]` markers use."""

    n: int
    article_id: str
    title: str
    source: str
    url: str
    published: str | None  # ISO date, None when the article's date is unknown
    text: str  # the retrieved passages of the article
    quote: str  # the sentences the answer used; empty when it was not cited
    score: float

    @property
    def cited(self) -> bool:
        return bool(self.quote)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cited": self.cited}


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
    # Seconds per stage of the answer: search, encode, rerank, compose.
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
