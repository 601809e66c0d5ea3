"""The benchmark corpus: RealTimeQA DEV articles and questions from `../shared/data`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.eval.data import load_questions, sample_questions
from bot.settings import Settings
from ingest.chunking import chunk_text
from ingest.index.store import Metadata
from ingest.pipeline import article_metadata
from ingest.sources.files import reader_for
from ingest.types import Article, Limits

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "realtimeqa-dev"


@dataclass(frozen=True)
class BenchChunk:
    article: str  # unique per article
    n: int  # chunk number within the article
    text: str
    embedding_text: str
    metadata: Metadata


def dev_articles(corpus: Path, limit: int | None = None) -> list[Article]:
    return list(itertools.islice(_read(corpus), limit))


def dev_chunks(corpus: Path, limit: int) -> list[BenchChunk]:
    """At most `limit` chunks of the corpus, chunked as ingest does, article by article."""
    settings = Settings()
    chunks: list[BenchChunk] = []
    for number, article in enumerate(_read(corpus)):
        metadata = article_metadata(article, "bench")
        for chunk in chunk_text(
            article.text, settings.chunk_size, settings.chunk_overlap, settings.max_chunk_chars
        ):
            text = chunk.embedding_text(article.title)
            chunks.append(BenchChunk(f"a{number}", chunk.n, chunk.text, text, metadata))
            if len(chunks) >= limit:
                return chunks
    return chunks


def _read(corpus: Path) -> Iterator[Article]:
    reader = reader_for(corpus)
    if reader is None:
        raise ValueError(f"{corpus} is not a corpus newsbot can read")
    unlimited = Limits(max_file_bytes=2**40)  # our own corpora
    return (a for a in reader(corpus, unlimited) if isinstance(a, Article))


def dev_questions(folder: Path, n: int, seed: int = 0) -> list[dict[str, Any]]:
    return sample_questions(load_questions(folder / "questions.jsonl"), n, seed, False)
