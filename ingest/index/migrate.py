"""Moving a store written by newsbot 0.2 into today's layout when it is opened.

0.2 put every article field on every chunk and the chunk text in Chroma's document
(see `store` for why neither is kept). Its records hold all today's do, so they are
copied over, vectors included (nothing is embedded again), and the old collections and
BM25 file are dropped once every article is across. Interrupted, the next open copies
again from the start: the writes are upserts by the same ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from ingest.index.store import (
    ALIASES,
    COLLECTION_PREFIX,
    ENTITIES,
    QUOTES,
    WRITTEN_AT,
    Metadata,
    NewsStore,
    StoredArticle,
    Where,
)

log = logging.getLogger(__name__)

_ARTICLES_PER_PAGE = 200
_FULL_TEXT = "embedding_fulltext_search"  # Chroma's full-text index, in its SQLite file


def legacy_collection_name(model: str, recipe: str, chunk_size: int, chunk_overlap: int) -> str:
    """The name newsbot 0.2 gave the collection of these settings (its key had no
    `max_chunk_chars`, then always the default)."""
    parts = (model, recipe, chunk_size, chunk_overlap, "notes-1")
    return COLLECTION_PREFIX + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def migrate_legacy(client: ClientAPI, legacy: str, store: NewsStore, data_dir: Path) -> int:
    """Copy the articles of the 0.2 collection `legacy` (if there is one) into `store`,
    then drop it and its BM25 file. Returns the number of articles copied."""
    names = {collection.name for collection in client.list_collections()}
    if legacy not in names:
        return 0
    chunks = client.get_collection(legacy, embedding_function=None)
    articles_name = f"{legacy}_articles"
    moved = 0
    if articles_name in names:
        articles = client.get_collection(articles_name, embedding_function=None)
        total = articles.count()
        log.warning("moving %d articles of newsbot 0.2 into today's store layout", total)
        for offset in range(0, total, _ARTICLES_PER_PAGE):
            page = articles.get(limit=_ARTICLES_PER_PAGE, offset=offset, include=["metadatas"])
            records = {
                article_id: dict(meta or {})
                for article_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True)
            }
            stored = _stored_articles(chunks, records)
            store.add_articles(stored)
            moved += len(stored)
    chroma = data_dir / "chroma"
    old_ids = [str(c.id) for c in client.list_collections() if c.name in (legacy, articles_name)]
    old_segments = set() if store.shared else _segments_of(chroma, old_ids)
    _drop(client, articles_name)
    _drop(client, legacy)
    for suffix in ("", "-wal", "-shm", ".unreadable"):
        (data_dir / f"{legacy}.fts.sqlite{suffix}").unlink(missing_ok=True)
    if not store.shared and not _reclaim(chroma, old_segments):
        log.warning(
            "moved %d articles into today's layout; `chroma vacuum --path %s` gives the "
            "old layout's disk space back (with no newsbot running)",
            moved,
            chroma,
        )
    return moved


def _segments_of(chroma: Path, collection_ids: list[str]) -> set[str]:
    """The ids of these collections' segments (each vector index is a folder so named)."""
    marks = ", ".join("?" * len(collection_ids))
    uri = f"file:{chroma / 'chroma.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        query = f"SELECT id FROM segments WHERE collection IN ({marks})"
        return {str(row[0]) for row in db.execute(query, collection_ids)}


def _reclaim(chroma: Path, segments: set[str]) -> bool:
    """Give back the disk an embedded Chroma keeps after its collections are deleted:
    it leaves their vector folders (`segments`), and their words in its full-text index
    until that is merged. Returns whether it could (SQLite refuses while another
    process reads)."""
    database = chroma / "chroma.sqlite3"
    try:
        with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as db:
            live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
            db.execute(f"INSERT INTO {_FULL_TEXT} ({_FULL_TEXT}) VALUES ('optimize')")
            db.execute("VACUUM")
    except sqlite3.OperationalError as error:
        log.info("could not compact %s: %s", database, error)
        return False
    for segment in segments - live:
        shutil.rmtree(chroma / segment, ignore_errors=True)
    return True


def _drop(client: ClientAPI, name: str) -> None:
    """Delete a collection, which another process opening the same store may have
    deleted first. Its records go first, page by page: deleting a whole collection
    leaves its rows in Chroma 1.5's full-text index behind, for good."""
    with contextlib.suppress(NotFoundError):
        collection = client.get_collection(name, embedding_function=None)
        while ids := collection.get(limit=client.get_max_batch_size(), include=[])["ids"]:
            collection.delete(ids=ids)
        client.delete_collection(name)


def _stored_articles(chunks: Any, records: dict[str, Metadata]) -> list[StoredArticle]:
    """These articles as today's store writes them, from their 0.2 chunk records."""
    where: Where = {"article_id": {"$in": sorted(records)}}
    found = chunks.get(where=where, include=["documents", "metadatas", "embeddings"])
    by_article: dict[str, list[tuple[int, str, Metadata, np.ndarray]]] = defaultdict(list)
    for text, meta, vector in zip(
        found["documents"] or [], found["metadatas"] or [], found["embeddings"], strict=True
    ):
        record = dict(meta or {})
        article_id = str(record.get("article_id", ""))
        by_article[article_id].append((int(record.get("chunk", 0)), text or "", record, vector))
    stored = []
    for article_id, record in records.items():
        parts = sorted(by_article.get(article_id, []), key=lambda part: part[0])
        if not parts or len(parts) != record.get("chunks", len(parts)):
            log.warning("article %s of the old store lacks chunks; left out", article_id)
            continue
        own = {key: record[key] for key in (ENTITIES, ALIASES) if key in record}
        fields = {k: v for k, v in record.items() if k not in (*own, WRITTEN_AT, "chunks")}
        stored.append(
            StoredArticle(
                article_id=article_id,
                metadata=fields,
                chunk_texts=[text for _, text, _, _ in parts],
                embeddings=np.asarray([vector for *_, vector in parts], dtype=np.float32),
                record=own,
                chunk_notes=[{QUOTES: m[QUOTES]} if QUOTES in m else {} for _, _, m, _ in parts],
            )
        )
    return stored
