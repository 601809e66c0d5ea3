"""The store: Chroma collections of chunks and of articles, and the lexical index.

Embedded persistent Chroma under the data dir by default, or a Chroma server
(`chroma run`) when a URL is given; both behave the same to the rest of newsbot. The
BM25 index (`ingest.index.fts`) is written in the same calls, so that every
caller sees one store.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from ingest.errors import BadSetting
from ingest.index.fts import DayRange, IndexedChunk, LexicalIndex

log = logging.getLogger(__name__)

# Chunks per write when an ingest shares its process with answers (see `add_articles`):
# with 128, one user asking through `newsbot serve` during a 1,000-article upload waited
# at most 1.4 s for an answer, where whole-group writes froze questions for 5 s.
_YIELDING_WRITE = 128

Metadata = dict[str, Any]
Where = dict[str, Any]


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    metadata: Metadata
    score: float  # cosine similarity, 1 is identical


@dataclass(frozen=True)
class StoredArticle:
    """One article ready to write: its chunks' texts and vectors, in chunk order."""

    article_id: str
    metadata: Metadata
    chunk_texts: Sequence[str]
    embeddings: np.ndarray


COLLECTION_PREFIX = "news_"


def collection_name(model: str, recipe: str, chunk_size: int, chunk_overlap: int) -> str:
    """Vectors of different models or chunkings must never mix in one collection, so
    the name is derived from the model, the index encoder's recipe and the chunking."""
    key = "|".join(str(part) for part in (model, recipe, chunk_size, chunk_overlap))
    return COLLECTION_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12]


def open_store(data_dir: Path, chroma_url: str, name: str) -> NewsStore:
    """The store `name` (embedded under `data_dir`, or on the Chroma server at
    `chroma_url`) with its BM25 index, which always lives in `data_dir`."""
    return NewsStore(connect(data_dir, chroma_url), name, data_dir / f"{name}.fts.sqlite")


def connect(data_dir: Path, chroma_url: str = "") -> ClientAPI:
    settings = chromadb.Settings(anonymized_telemetry=False)
    if not chroma_url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    if not url.hostname:
        raise BadSetting(f"Chroma server URL {chroma_url!r} has no host; use http://HOST:PORT")
    return chromadb.HttpClient(
        host=url.hostname,
        port=url.port or (443 if url.scheme == "https" else 8000),
        ssl=url.scheme == "https",
        settings=settings,
    )


class NewsStore:
    """Chunks with their article metadata; all writes are upserts by stable id."""

    def __init__(self, client: ClientAPI, name: str, lexical_path: Path) -> None:
        self.client = client
        space = {"hnsw:space": "cosine"}
        self.chunks: Collection = client.get_or_create_collection(
            name, metadata=space, embedding_function=None
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{name}_articles", metadata=space, embedding_function=None
        )
        self.max_batch = client.get_max_batch_size()
        self.lexical = LexicalIndex(lexical_path)
        if self.lexical.count() != self.chunks.count():
            self._rebuild_lexical()

    def existing_articles(self, article_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(article_ids), self.max_batch):
            batch = list(article_ids[start : start + self.max_batch])
            found.update(self.articles.get(ids=batch, include=[])["ids"])
        return found

    def articles_from(self, origins: Sequence[str]) -> dict[str, list[str]]:
        """The stored article ids of each origin (file, record or URL) asked about."""
        found: dict[str, list[str]] = {}
        unique = sorted(set(origins))
        for start in range(0, len(unique), self.max_batch):
            batch = unique[start : start + self.max_batch]
            where: Where = {"origin": {"$in": batch}}
            result = self.articles.get(where=where, include=["metadatas"])
            for article_id, meta in zip(result["ids"], result["metadatas"] or [], strict=True):
                found.setdefault(str((meta or {}).get("origin")), []).append(article_id)
        return found

    def add_articles(
        self, articles: Sequence[StoredArticle], yield_to_answers: bool = False
    ) -> None:
        """Write articles' chunks in as few calls as Chroma allows, then their records.

        Embedded Chroma holds Python's GIL for the whole of a write (2 s for 3,000
        chunks here), which freezes every other thread of the process: in the web chat,
        the answers and the web server itself. `yield_to_answers` writes the chunks in
        small calls instead, each followed by a pause as long as it took, so that other
        threads run at least half the time (an ingest then takes about 2x as long)."""
        ids: list[str] = []
        documents: list[str] = []
        metadatas: list[Metadata] = []
        indexed: list[IndexedChunk] = []
        for article in articles:
            for n, text in enumerate(article.chunk_texts):
                chunk_id = f"{article.article_id}:{n}"
                ids.append(chunk_id)
                documents.append(text)
                metadatas.append({**article.metadata, "article_id": article.article_id, "chunk": n})
                indexed.append(_indexed(chunk_id, article.article_id, article.metadata, text))
        if not ids:
            return
        embeddings = np.concatenate([a.embeddings for a in articles])
        step = _YIELDING_WRITE if yield_to_answers else self.max_batch
        for start in range(0, len(ids), step):
            end = start + step
            started = time.perf_counter()
            self.chunks.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],  # type: ignore[arg-type]
            )
            if yield_to_answers:
                time.sleep(time.perf_counter() - started)
        self.lexical.add(indexed)
        # Written last: an article record means all its chunks are stored.
        self.articles.upsert(
            ids=[a.article_id for a in articles],
            embeddings=np.stack([_centroid(a.embeddings) for a in articles]),
            documents=[str(a.metadata.get("title", "")) for a in articles],
            metadatas=[{**a.metadata, "chunks": len(a.chunk_texts)} for a in articles],
        )

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        if not article_ids:
            return
        where: Where = {"article_id": {"$in": list(article_ids)}}
        self.articles.delete(ids=list(article_ids))
        self.chunks.delete(where=where)
        self.lexical.delete_articles(article_ids)

    def query(self, embedding: np.ndarray, n: int, among: Sequence[str] | None = None) -> list[Hit]:
        """The `n` nearest chunks, or the nearest among the chunk ids `among`."""
        # No count() first: it costs as much as the search, and Chroma returns fewer
        # results by itself when the collection holds fewer than `n`.
        result = self.chunks.query(
            query_embeddings=[embedding],
            n_results=n,
            ids=list(among) if among is not None else None,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            Hit(chunk_id, text or "", dict(meta or {}), 1.0 - float(distance))
            for chunk_id, text, meta, distance in zip(
                ids, documents, metadatas, distances, strict=True
            )
        ]

    def chunk_ids(self, days: DayRange, sources: Sequence[str] = ()) -> list[str]:
        """Ids of the chunks published within `days` (and by `sources`), from SQLite."""
        return self.lexical.chunk_ids(days, sources)

    def lexical_query(
        self, words: Sequence[str], n: int, days: DayRange, sources: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        return self.lexical.search(words, n, days, sources)

    def article_chunk_ids(self, article_ids: Sequence[str]) -> list[str]:
        """Every chunk id of these articles, from SQLite."""
        return self.lexical.article_chunk_ids(article_ids)

    def get_chunks(self, chunk_ids: Sequence[str], embedding: np.ndarray) -> list[Hit]:
        """Chunks by id, scored by cosine similarity to `embedding` like query hits."""
        if not chunk_ids:
            return []
        result = self.chunks.get(
            ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"]
        )
        vectors = np.asarray(result["embeddings"], dtype=np.float32).reshape(-1, len(embedding))
        return [
            Hit(chunk_id, text or "", dict(meta or {}), float(vector @ embedding))
            for chunk_id, text, meta, vector in zip(
                result["ids"],
                result["documents"] or [],
                result["metadatas"] or [],
                vectors,
                strict=True,
            )
        ]

    def article_metadatas(self) -> list[Metadata]:
        return [dict(m or {}) for m in self.articles.get(include=["metadatas"])["metadatas"] or []]

    @property
    def name(self) -> str:
        return self.chunks.name

    def chunk_count(self) -> int:
        return self.chunks.count()

    def chunks_elsewhere(self) -> int:
        """Chunks this client holds in other newsbot collections (other settings)."""
        names = {self.chunks.name, self.articles.name}
        return sum(
            collection.count()
            for collection in self.client.list_collections()
            if collection.name.startswith(COLLECTION_PREFIX)
            and not collection.name.endswith("_articles")
            and collection.name not in names
        )

    def _rebuild_lexical(self) -> None:
        """Refill the BM25 index from Chroma, the store of record."""
        total = self.chunks.count()
        log.warning("rebuilding the lexical index from %d stored chunks", total)
        self.lexical.clear()
        page = self.max_batch
        for offset in range(0, total, page):
            result = self.chunks.get(limit=page, offset=offset, include=["documents", "metadatas"])
            self.lexical.add(
                _indexed(
                    chunk_id, str((meta or {}).get("article_id", "")), dict(meta or {}), text or ""
                )
                for chunk_id, text, meta in zip(
                    result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
                )
            )


def _indexed(chunk_id: str, article_id: str, metadata: Metadata, text: str) -> IndexedChunk:
    day = metadata.get("published_day")
    return IndexedChunk(
        chunk_id=chunk_id,
        article_id=article_id,
        published_day=day if isinstance(day, int) else None,
        source=str(metadata.get("source") or ""),
        title=str(metadata.get("title") or ""),
        body=text,
    )


def _centroid(embeddings: np.ndarray) -> np.ndarray:
    centroid = embeddings.mean(axis=0)
    return centroid / (float(np.linalg.norm(centroid)) or 1.0)
