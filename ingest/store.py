"""The Chroma store: one collection of chunks, one of articles (for stats and dedup).

Embedded persistent Chroma under the data dir by default, or a Chroma server
(`chroma run`) when a URL is given; both behave the same to the rest of newsbot.
"""

from __future__ import annotations

import os
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

Metadata = dict[str, Any]
Where = dict[str, Any]


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    text: str
    metadata: Metadata
    score: float  # cosine similarity, 1 is identical


def connect(data_dir: Path, chroma_url: str = "") -> ClientAPI:
    settings = chromadb.Settings(anonymized_telemetry=False)
    if not chroma_url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    if not url.hostname:
        raise ValueError(f"Chroma server URL {chroma_url!r} has no host; use http://HOST:PORT")
    return chromadb.HttpClient(
        host=url.hostname,
        port=url.port or (443 if url.scheme == "https" else 8000),
        ssl=url.scheme == "https",
        settings=settings,
    )


class NewsStore:
    """Chunks with their article metadata; all writes are upserts by stable id."""

    def __init__(self, client: ClientAPI, name: str) -> None:
        self.client = client
        space = {"hnsw:space": "cosine"}
        self.chunks: Collection = client.get_or_create_collection(
            name, metadata=space, embedding_function=None
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{name}_articles", metadata=space, embedding_function=None
        )
        self.max_batch = client.get_max_batch_size()

    def existing_articles(self, article_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(article_ids), self.max_batch):
            batch = list(article_ids[start : start + self.max_batch])
            found.update(self.articles.get(ids=batch, include=[])["ids"])
        return found

    def articles_from(self, origin: str) -> list[str]:
        return list(self.articles.get(where={"origin": origin}, include=[])["ids"])

    def add_article(
        self,
        article_id: str,
        metadata: Metadata,
        chunk_texts: Sequence[str],
        embeddings: np.ndarray,
    ) -> None:
        ids = [f"{article_id}:{n}" for n in range(len(chunk_texts))]
        metadatas = [{**metadata, "article_id": article_id, "chunk": n} for n in range(len(ids))]
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            self.chunks.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end],
                documents=list(chunk_texts[start:end]),
                metadatas=metadatas[start:end],  # type: ignore[arg-type]
            )
        centroid = embeddings.mean(axis=0)
        centroid /= float(np.linalg.norm(centroid)) or 1.0
        # Written last: an article record means all its chunks are stored.
        self.articles.upsert(
            ids=[article_id],
            embeddings=[centroid],
            documents=[str(metadata.get("title", ""))],
            metadatas=[{**metadata, "chunks": len(ids)}],
        )

    def delete_article(self, article_id: str) -> None:
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})

    def query(self, embedding: np.ndarray, n: int, where: Where | None = None) -> list[Hit]:
        total = self.chunks.count()
        if total == 0:
            return []
        result = self.chunks.query(
            query_embeddings=[embedding],
            n_results=min(n, total),
            where=where or None,
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

    def article_metadatas(self) -> list[Metadata]:
        return [dict(m or {}) for m in self.articles.get(include=["metadatas"])["metadatas"] or []]

    def chunk_count(self) -> int:
        return self.chunks.count()
