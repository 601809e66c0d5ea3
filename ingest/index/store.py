"""The store: Chroma collections of chunks and of articles, and the lexical index.

Embedded persistent Chroma under the data dir by default, or a Chroma server
(`chroma run`) when a URL is given; both behave the same to the rest of newsbot.

What each record holds is chosen for the disk. Chroma 1.5 keeps a document four times
(the row, an index on it, a full-text copy and a trigram index: 7x its text) and cannot
turn that off locally, and newsbot never searches Chroma's text, so a chunk's text is a
metadata field (twice: the row and its index) and chunks carry no document. A chunk
record holds only what search filters, ranks and quotes by (`CHUNK_FIELDS`, the text, its
quotes); what is said about the whole article (title, URL, date as written, names) is on
the article record, once, and joined onto the hits of a search.

Chroma is the one source of truth. The BM25 index (`fts.py`, a SQLite file in this
process's data dir) is a cache of it: written in the same calls as the vectors when
this process ingests, and kept in step with what other processes write to a shared
server by `catch_up`, which indexes the articles written since its watermark (each
article record carries the time it was written) and drops those deleted since. Missing
or from an older newsbot, or unreadable, the cache is rebuilt from Chroma.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from ingest.annotate.names import entity_key
from ingest.errors import BadSetting, StoreUnavailable
from ingest.index.fts import DayRange, IndexedChunk, LexicalIndex, Named

log = logging.getLogger(__name__)

# Chunks per write when an ingest shares its process with answers (see `add_articles`):
# with 128, one user asking through `newsbot serve` during a 1,000-article upload waited
# at most 1.4 s for an answer, where whole-group writes froze questions for 5 s.
_YIELDING_WRITE = 128
# Chunks per write otherwise. Chroma passes every write through its log (a table of its
# SQLite file) before indexing it, and the log's pages are left free, not given back, once
# it is indexed: writes of 5,461 chunks (its most) left 10.5 MB free in a 143 MB store of
# 2,000 articles, writes of 1,024 left 1.7 MB.
_WRITE = 1024
# How often a process looks for other processes' writes (before a question, at most),
# and how far before its watermark it looks again: the clocks of two hosts writing to
# one server may disagree by this much, and an article seen twice is indexed once.
CATCH_UP_EVERY_S = 2.0
_CLOCK_SKEW_S = 120.0
# The share of the BM25 index's full-text rows left by replaced or deleted chunks at
# which opening the store rebuilds it: they cost disk and skew word statistics.
_MOST_STALE = 0.25

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
    """One article ready to write: its chunks' texts and vectors, in chunk order.

    `metadata` goes on the article record and every chunk (what search filters and
    cites); `record` on the article record alone (the names it is filed under);
    `chunk_notes` on one chunk each (the quotes it holds)."""

    article_id: str
    metadata: Metadata
    chunk_texts: Sequence[str]
    embeddings: np.ndarray
    record: Metadata = field(default_factory=dict)
    chunk_notes: Sequence[Metadata] = ()


COLLECTION_PREFIX = "news_"
# The article record's field holding when it was written (seconds since the epoch).
WRITTEN_AT = "written_at"
# The article record's names (`ingest.annotate`): as written, and "TICKER=name" links.
ENTITIES = "entities"
ALIASES = "aliases"
QUOTES = "quotes"  # a chunk's field: the quotes it holds, as JSON
TEXT = "text"  # a chunk's field: its text (see the module for why not the document)
# The article's fields a chunk record carries too: what search filters and ranks by.
CHUNK_FIELDS = ("published_day",)
# Fields of the article record that are the store's own bookkeeping, not the article's.
_RECORD_ONLY = (ENTITIES, ALIASES, WRITTEN_AT, "chunks")
# How the records are laid out: part of the collection name, so that a store of another
# layout is never read as this one (an older one is migrated, see `ingest.index.migrate`).
LAYOUT = "lean-1"


def collection_name(
    model: str, recipe: str, chunk_size: int, chunk_overlap: int, max_chunk_chars: int
) -> str:
    """Vectors of different models or chunkings must never mix in one collection, so
    the name is derived from the model, the index encoder's recipe and the chunking."""
    parts = (model, recipe, chunk_size, chunk_overlap, max_chunk_chars, LAYOUT)
    return COLLECTION_PREFIX + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def open_store(data_dir: Path, chroma_url: str, name: str) -> NewsStore:
    """The store `name` (embedded under `data_dir`, or on the Chroma server at
    `chroma_url`) with its BM25 index, which always lives in `data_dir`."""
    client = connect(data_dir, chroma_url)
    return NewsStore(client, name, data_dir / f"{name}.fts.sqlite", shared=bool(chroma_url))


def connect(data_dir: Path, chroma_url: str = "") -> ClientAPI:
    settings = chromadb.Settings(anonymized_telemetry=False)
    if not chroma_url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    if not url.hostname:
        raise BadSetting(f"Chroma server URL {chroma_url!r} has no host; use http://HOST:PORT")
    try:
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
    except Exception as error:  # the client checks the server at once
        raise StoreUnavailable(
            f"cannot reach the Chroma server at {chroma_url} ({type(error).__name__}: "
            f"{error}); start it (`chroma run`) or fix NEWSBOT_CHROMA_URL"
        ) from error


class NewsStore:
    """Chunks with their article metadata; all writes are upserts by stable id."""

    def __init__(
        self, client: ClientAPI, name: str, lexical_path: Path, shared: bool = False
    ) -> None:
        """`shared`: a Chroma server, which other processes may write to while this one
        runs; an embedded store has one writer, this process, and catches up on open."""
        self.client = client
        self.shared = shared
        space = {"hnsw:space": "cosine"}
        self.chunks: Collection = client.get_or_create_collection(
            name, metadata=space, embedding_function=None
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{name}_articles", metadata=space, embedding_function=None
        )
        self.max_batch = client.get_max_batch_size()
        self.lexical = LexicalIndex(lexical_path)
        self._catching_up = threading.Lock()
        self._caught_up_at = 0.0
        if self.lexical.watermark() is None:
            self._rebuild_lexical()
        elif self.lexical.stale_share() > _MOST_STALE:
            log.info("rebuilding the BM25 index: most of it was left by replaced chunks")
            self._rebuild_lexical()
        else:
            self.catch_up(now=True)

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
        metadatas: list[Metadata] = []
        indexed: list[IndexedChunk] = []
        for article in articles:
            notes = article.chunk_notes or [{}] * len(article.chunk_texts)
            shared = {k: v for k, v in article.metadata.items() if k in CHUNK_FIELDS}
            for n, (text, extra) in enumerate(zip(article.chunk_texts, notes, strict=True)):
                chunk_id = f"{article.article_id}:{n}"
                ids.append(chunk_id)
                record = {**shared, **extra, "article_id": article.article_id}
                metadatas.append({**record, TEXT: text})
                indexed.append(_indexed(chunk_id, record, article.metadata, text))
        if not ids:
            return
        embeddings = np.concatenate([a.embeddings for a in articles])
        step = _YIELDING_WRITE if yield_to_answers else min(self.max_batch, _WRITE)
        for start in range(0, len(ids), step):
            end = start + step
            started = time.perf_counter()
            self.chunks.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end],
                metadatas=metadatas[start:end],  # type: ignore[arg-type]
            )
            if yield_to_answers:
                time.sleep(time.perf_counter() - started)
        with self._catching_up:  # a catch-up never sees the cache ahead of Chroma
            written_at = time.time()
            records = [
                {**a.metadata, **a.record, "chunks": len(a.chunk_texts), WRITTEN_AT: written_at}
                for a in articles
            ]
            self.lexical.replace_articles(
                indexed,
                {a.article_id: written_at for a in articles},
                {a.article_id: _named(record) for a, record in zip(articles, records, strict=True)},
            )
            # Written last: an article record means all its chunks are stored.
            self.articles.upsert(
                ids=[a.article_id for a in articles],
                embeddings=np.stack([_centroid(a.embeddings) for a in articles]),
                documents=[str(a.metadata.get("title", "")) for a in articles],
                metadatas=records,  # type: ignore[arg-type]
            )

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        if not article_ids:
            return
        where: Where = {"article_id": {"$in": list(article_ids)}}
        with self._catching_up:
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
            include=["metadatas", "distances"],
        )
        distances = (result["distances"] or [[]])[0]
        scores = [1.0 - float(distance) for distance in distances]
        return self._hits(result["ids"][0], (result["metadatas"] or [[]])[0], scores)

    def _hits(
        self, ids: Sequence[str], chunks: Sequence[Any], scores: Sequence[float]
    ) -> list[Hit]:
        """Hits from chunk records, each with its article's fields joined on."""
        chunk_records = [dict(meta or {}) for meta in chunks]
        wanted = sorted({str(meta.get("article_id", "")) for meta in chunk_records})
        articles = {article_id: meta for article_id, meta, _ in self.article_records(wanted)}
        hits = []
        for chunk_id, meta, score in zip(ids, chunk_records, scores, strict=True):
            text = str(meta.pop(TEXT, "") or "")
            article = articles.get(str(meta.get("article_id", "")), {})
            joined = {k: v for k, v in article.items() if k not in _RECORD_ONLY}
            number = int(chunk_id.rsplit(":", 1)[1])  # the id says which chunk it is
            hits.append(Hit(chunk_id, text, {**joined, **meta, "chunk": number}, score))
        return hits

    def chunk_ids(
        self, days: DayRange, sources: Sequence[str] = (), articles: Sequence[str] | None = None
    ) -> list[str]:
        """Ids of the chunks published within `days` (and by `sources`, and of
        `articles` when given), from SQLite."""
        return self.lexical.chunk_ids(days, sources, articles)

    def lexical_query(
        self,
        words: Sequence[str],
        n: int,
        days: DayRange,
        sources: Sequence[str] = (),
        articles: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        return self.lexical.search(words, n, days, sources, articles)

    def articles_naming(self, names: Sequence[str]) -> list[str]:
        """The articles naming any of these companies, people, indices or tickers, in
        any of the forms they are known by ("Alibaba Group", "Alibaba", "9988.HK")."""
        return self.lexical.articles_naming([entity_key(name) for name in names])

    def entity_names(self, limit: int = 500) -> list[tuple[str, int]]:
        """The names the news is filed under, with how many articles name each."""
        return self.lexical.entity_names(limit)

    def article_chunk_ids(self, article_ids: Sequence[str]) -> list[str]:
        """Every chunk id of these articles, from SQLite."""
        return self.lexical.article_chunk_ids(article_ids)

    def get_chunks(self, chunk_ids: Sequence[str], embedding: np.ndarray) -> list[Hit]:
        """Chunks by id, scored by cosine similarity to `embedding` like query hits."""
        if not chunk_ids:
            return []
        result = self.chunks.get(ids=list(chunk_ids), include=["metadatas", "embeddings"])
        vectors = np.asarray(result["embeddings"], dtype=np.float32).reshape(-1, len(embedding))
        scores = [float(score) for score in vectors @ embedding]
        return self._hits(result["ids"], result["metadatas"] or [], scores)

    def article_records(self, article_ids: Sequence[str]) -> list[tuple[str, Metadata, np.ndarray]]:
        """Article records by id: (id, metadata, the mean of its chunks' vectors)."""
        records: list[tuple[str, Metadata, np.ndarray]] = []
        for start in range(0, len(article_ids), self.max_batch):
            batch = list(article_ids[start : start + self.max_batch])
            result = self.articles.get(ids=batch, include=["metadatas", "embeddings"])
            vectors = np.asarray(result["embeddings"], dtype=np.float32)
            for article_id, meta, vector in zip(
                result["ids"], result["metadatas"] or [], vectors, strict=True
            ):
                records.append((article_id, dict(meta or {}), vector))
        return records

    def first_chunks(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Each article's first chunk: where a news story says what happened."""
        found: dict[str, str] = {}
        ids = [f"{article_id}:0" for article_id in article_ids]
        for start in range(0, len(ids), self.max_batch):
            result = self.chunks.get(ids=ids[start : start + self.max_batch], include=["metadatas"])
            for chunk_id, meta in zip(result["ids"], result["metadatas"] or [], strict=True):
                found[chunk_id.rsplit(":", 1)[0]] = str((meta or {}).get(TEXT) or "")
        return found

    def newest_day(self) -> int | None:
        """The latest publication day stored (a day number), None when nothing is dated."""
        return self.lexical.newest_day()

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

    def catch_up(self, now: bool = False) -> int:
        """Bring the BM25 cache in step with Chroma: index the articles written since
        the watermark (by any process), and drop those no longer there. At most every
        `CATCH_UP_EVERY_S` unless `now`, and only on a shared store; one thread at a
        time, the others go on. Returns the number of articles indexed."""
        if not now and (
            not self.shared or time.monotonic() - self._caught_up_at < CATCH_UP_EVERY_S
        ):
            return 0
        if not self._catching_up.acquire(blocking=now):
            return 0
        try:
            return self._catch_up()
        except httpx.TransportError as error:  # the first to notice a server gone away
            raise StoreUnavailable(
                f"the Chroma server stopped answering ({type(error).__name__}: {error}); "
                "check that `chroma run` is up and NEWSBOT_CHROMA_URL points at it"
            ) from error
        finally:
            self._catching_up.release()

    def _catch_up(self) -> int:
        self._caught_up_at = time.monotonic()
        mark = self.lexical.watermark() or 0.0
        since: Where = {WRITTEN_AT: {"$gt": mark - _CLOCK_SKEW_S}}
        recent = _records_of(self.articles.get(where=since, include=["metadatas"]))
        written = _written_of(recent)
        known = self.lexical.written_at(list(written))
        # Chroma may give a time back a few ulps off the one this process wrote.
        fresh = {i: at for i, at in written.items() if abs(known.get(i, -1.0) - at) > 1e-3}
        self._index_articles(fresh, recent)
        if written:
            self.lexical.raise_watermark(max(written.values()))
        if self.lexical.article_count() != self.articles.count():
            fresh.update(self._reconcile())
        if fresh:
            log.info("indexed %d articles written by other processes", len(fresh))
        return len(fresh)

    def _reconcile(self) -> dict[str, float]:
        """Compare the article ids one by one (the counts differ: an article was deleted,
        or written with a clock far behind); returns the articles indexed."""
        records = self._all_records()
        stored = _written_of(records)
        held = self.lexical.article_ids()
        self.lexical.delete_articles(sorted(held - stored.keys()))
        missing = {i: at for i, at in stored.items() if i not in held}
        self._index_articles(missing, records)
        return missing

    def _all_records(self) -> dict[str, Metadata]:
        """Every stored article's record, page by page."""
        records: dict[str, Metadata] = {}
        for offset in range(0, self.articles.count(), self.max_batch):
            page = self.articles.get(limit=self.max_batch, offset=offset, include=["metadatas"])
            records.update(_records_of(page))
        return records

    def _index_articles(self, written: dict[str, float], records: dict[str, Metadata]) -> None:
        """Read these articles' chunks from Chroma into the BM25 cache."""
        ids = sorted(written)
        step = 64  # articles per read: a few hundred chunks
        for start in range(0, len(ids), step):
            batch = ids[start : start + step]
            where: Where = {"article_id": {"$in": batch}}
            result = self.chunks.get(where=where, include=["metadatas"])
            self.lexical.replace_articles(
                _indexed_page(result, records),
                {article_id: written[article_id] for article_id in batch},
                {i: _named(records[i]) for i in batch if i in records},
            )

    def _rebuild_lexical(self) -> None:
        """Refill the BM25 cache from Chroma, the store of record."""
        total = self.chunks.count()
        if total and not self.lexical.unreadable:
            log.warning("building the lexical index from %d stored chunks", total)
        self.lexical.clear()
        records = self._all_records()
        page = self.max_batch
        for offset in range(0, total, page):
            result = self.chunks.get(limit=page, offset=offset, include=["metadatas"])
            self.lexical.add(_indexed_page(result, records))
        written = _written_of(records)
        self.lexical.mark_articles(written, {i: _named(r) for i, r in records.items()})
        self.lexical.raise_watermark(max(written.values(), default=0.0))
        if self.lexical.unreadable:
            log.warning(
                "the BM25 index %s was unreadable (%s); rebuilt from Chroma (%d chunks), "
                "the old file kept as %s",
                self.lexical.path,
                self.lexical.unreadable,
                total,
                self.lexical.set_aside.name,
            )


def _written_of(records: dict[str, Metadata]) -> dict[str, float]:
    """Article id: when it was written to Chroma (0 for records of an older newsbot)."""
    return {article_id: float(meta.get(WRITTEN_AT) or 0.0) for article_id, meta in records.items()}


def _records_of(result: Any) -> dict[str, Metadata]:
    """Article id: its record, from a `get` of article records."""
    return {
        article_id: dict(meta or {})
        for article_id, meta in zip(result["ids"], result["metadatas"] or [], strict=True)
    }


def _named(record: Metadata) -> Named:
    entities = {entity_key(str(name)): str(name) for name in record.get(ENTITIES) or []}
    aliases = {}
    for link in record.get(ALIASES) or []:
        ticker, _, name = str(link).partition("=")
        aliases[entity_key(ticker)] = entity_key(name)
    return Named(entities, aliases)


def _indexed_page(result: Any, articles: dict[str, Metadata]) -> list[IndexedChunk]:
    """A page of chunk records as the BM25 cache indexes them, with their articles'
    titles and publishers from `articles`."""
    indexed = []
    for chunk_id, meta in zip(result["ids"], result["metadatas"] or [], strict=True):
        record = dict(meta or {})
        article = articles.get(str(record.get("article_id", "")), {})
        indexed.append(_indexed(chunk_id, record, article, str(record.get(TEXT) or "")))
    return indexed


def _indexed(chunk_id: str, record: Metadata, article: Metadata, text: str) -> IndexedChunk:
    """A chunk as the BM25 cache holds it: its own record, and its article's fields."""
    day = record.get("published_day")
    return IndexedChunk(
        chunk_id=chunk_id,
        article_id=str(record.get("article_id", "")),
        published_day=day if isinstance(day, int) else None,
        source=str(article.get("source") or ""),
        title=str(article.get("title") or ""),
        body=text,
    )


def _centroid(embeddings: np.ndarray) -> np.ndarray:
    centroid = embeddings.mean(axis=0)
    return centroid / (float(np.linalg.norm(centroid)) or 1.0)
