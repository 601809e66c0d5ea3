"""What the store keeps on disk: each fact once, and a store of newsbot 0.2 carried over."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import chromadb
import pytest

from bot import NewsBot, Settings
from ingest.index.fts import DayRange
from tests.conftest import SAMPLE_NEWS, sharing_models

QUESTION = "Who raised its Hang Seng target?"
# Every field 0.2 put on each chunk (with the document, the chunk's text).
ARTICLE_FIELDS = {"title", "source", "url", "origin", "ingested_at", "dated", "published"}


def sample_records() -> list[dict[str, str]]:
    return [json.loads(line) for line in SAMPLE_NEWS.read_text(encoding="utf-8").splitlines()]


def test_chunk_records_hold_what_search_needs_and_the_article_the_rest(
    sample_bot: NewsBot,
) -> None:
    chunks = sample_bot.store.chunks.get(include=["metadatas", "documents"])
    assert not any(chunks["documents"] or [])  # Chroma would index a document 3 more times
    fields = {key for meta in chunks["metadatas"] or [] for key in meta or {}}
    assert fields <= {"article_id", "published_day", "text", "quotes"}, fields
    articles = sample_bot.store.articles.get(include=["metadatas"])["metadatas"] or []
    titles = {str(meta["title"]) for meta in articles}
    assert titles == {record["title"] for record in sample_records()}
    answer = sample_bot.ask(QUESTION)  # answers still cite titles, links and dates
    assert answer.sources and all(s.title in titles and s.url for s in answer.sources)
    assert all(s.published for s in answer.sources)


def test_the_bm25_cache_holds_no_copy_of_the_text(fresh_bot: NewsBot, tmp_path: Path) -> None:
    story = tmp_path / "2025-03-03-cobalt.md"
    sentence = "Quillfeather Mining shipped cobalt from Kolwezi on Monday."
    story.write_text(f"# Cobalt exports resume\n\n{sentence}\n", encoding="utf-8")
    fresh_bot.ingest([story])
    assert fresh_bot.store.lexical_query(["quillfeather"], 3, DayRange())
    stored = b"".join(p.read_bytes() for p in fresh_bot.store.lexical.path.parent.glob("*.fts*"))
    assert sentence.encode() not in stored
    assert b"Cobalt exports resume" not in stored


def test_another_chunk_length_cap_is_another_collection(
    sample_bot: NewsBot, tmp_path: Path
) -> None:
    """Chunks cut at 2,000 characters and at 1,500 must not mix in one collection."""
    data = tmp_path / "data"
    first = sharing_models(sample_bot, Settings(data_dir=data))
    first.ingest([SAMPLE_NEWS])
    other = sharing_models(sample_bot, Settings(data_dir=data, max_chunk_chars=1_500))
    assert other.store.name != first.store.name
    assert other.stats()["articles"] == 0


def write_v02_store(source: NewsBot, data_dir: Path) -> str:
    """The sample news laid out as newsbot 0.2 wrote it: every article field on every
    chunk record, the chunk's text as its document, and 0.2's collection name."""
    settings = source.settings
    key = "|".join(
        str(part)
        for part in (
            settings.embedding_model,
            source.index_embedder.recipe,
            settings.chunk_size,
            settings.chunk_overlap,
            "notes-1",
        )
    )
    name = "news_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    articles = source.store.articles.get(include=["metadatas", "embeddings", "documents"])
    chunks = source.store.chunks.get(include=["metadatas", "embeddings"])
    records = zip(articles["ids"], articles["metadatas"] or [], strict=True)
    fields = {article_id: dict(meta or {}) for article_id, meta in records}
    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False)
    )
    old_chunks = client.create_collection(name, metadata={"hnsw:space": "cosine"})
    metadatas, documents = [], []
    for chunk_id, meta in zip(chunks["ids"], chunks["metadatas"] or [], strict=True):
        meta = dict(meta or {})
        article = {k: v for k, v in fields[meta["article_id"]].items() if k in ARTICLE_FIELDS}
        article["published_day"] = fields[meta["article_id"]].get("published_day", 0)
        documents.append(str(meta.pop("text")))
        metadatas.append({**article, **meta, "chunk": int(chunk_id.rsplit(":", 1)[1])})
    old_chunks.add(
        ids=chunks["ids"], embeddings=chunks["embeddings"], documents=documents, metadatas=metadatas
    )
    old_articles = client.create_collection(f"{name}_articles", metadata={"hnsw:space": "cosine"})
    old_articles.add(
        ids=articles["ids"],
        embeddings=articles["embeddings"],
        documents=articles["documents"],
        metadatas=articles["metadatas"],
    )
    (data_dir / f"{name}.fts.sqlite").write_bytes(b"")  # 0.2's BM25 file
    return name


@pytest.mark.slow
def test_a_store_of_0_2_is_carried_over_on_open(sample_bot: NewsBot, tmp_path: Path) -> None:
    data = tmp_path / "old"
    legacy = write_v02_store(sample_bot, data)
    carried = sharing_models(sample_bot, Settings(data_dir=data), reader=sample_bot.reader)
    expected = sample_bot.ask(QUESTION)
    answer = carried.ask(QUESTION)  # opening the store moves it
    assert answer.text == expected.text
    assert [s.title for s in answer.sources] == [s.title for s in expected.sources]
    assert carried.stats()["articles"] == sample_bot.stats()["articles"]
    names = {c.name for c in carried.store.client.list_collections()}
    assert legacy not in names and f"{legacy}_articles" not in names
    assert not (data / f"{legacy}.fts.sqlite").exists()
    quoted = carried.ask("What did Mei Tanaka say?")  # 0.2's quotes are read as they were
    assert quoted.text == sample_bot.ask("What did Mei Tanaka say?").text


def test_reopening_a_store_indexes_nothing_again(fresh_bot: NewsBot, tmp_path: Path) -> None:
    """Chroma hands a write time back rounded: read as another process's newer write,
    the last group ingested was indexed again on every first open after it."""
    fresh_bot.ingest([SAMPLE_NEWS])
    reopened = sharing_models(fresh_bot, fresh_bot.settings)
    assert reopened.store.lexical.stale_share() == 0.0
    assert reopened.store.lexical.count() == fresh_bot.store.chunk_count()


def test_replaced_chunks_are_swept_when_they_are_most_of_the_index(
    fresh_bot: NewsBot, tmp_path: Path
) -> None:
    story = tmp_path / "2025-03-04-nickel.md"
    for version in range(4):
        story.write_text(f"# Nickel\n\nNickel rose {version} percent in London.\n")
        fresh_bot.ingest([story])
    assert fresh_bot.store.lexical.stale_share() > 0.5  # three old versions left behind
    reopened = sharing_models(fresh_bot, fresh_bot.settings)
    assert reopened.store.lexical.stale_share() == 0.0
    assert reopened.store.lexical_query(["3"], 5, DayRange())
    assert reopened.store.lexical_query(["2"], 5, DayRange()) == []
