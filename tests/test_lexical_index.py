"""The BM25 index: exact terms, date and publisher filters, and agreement with Chroma."""

from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import NewsBot
from ingest.index.fts import DayRange, IndexedChunk, LexicalIndex
from tests.conftest import NEWSBOT, SAMPLE_ARTICLES, SAMPLE_NEWS, sharing_models


def chunk(chunk_id: str, body: str, day: int | None = 100, source: str = "Wire") -> IndexedChunk:
    return IndexedChunk(chunk_id, chunk_id.split(":")[0], day, source, "Markets", body)


def test_exact_names_and_numbers_rank_first(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "index.sqlite")
    index.add(
        [
            chunk("a:0", "Stocks rose as investors cheered the results."),
            chunk("b:0", "CATL shares rose 4% after the battery maker beat forecasts."),
            chunk("c:0", "The index closed at 24,000 points, a record."),
        ]
    )
    assert index.search(["catl", "shares"], 3, DayRange())[0][0] == "b:0"
    assert [c for c, _ in index.search(["24,000"], 3, DayRange())] == ["c:0"]
    assert index.search(["nothing-like-this"], 3, DayRange()) == []


def test_filters_and_replacement(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "index.sqlite")
    index.add(
        [
            chunk("old:0", "Gold hit a record.", day=10, source="Metals Daily"),
            chunk("new:0", "Gold hit another record.", day=20),
            chunk("undated:0", "Gold is a haven.", day=None),
        ]
    )

    def found(days: DayRange, sources: tuple[str, ...] = ()) -> set[str]:
        return {c for c, _ in index.search(["gold"], 10, days, sources)}

    assert found(DayRange(last=15)) == {"old:0", "undated:0"}
    assert found(DayRange(first=15, undated=False)) == {"new:0"}
    assert found(DayRange(), ("Metals Daily",)) == {"old:0"}
    index.add([chunk("new:0", "Silver hit a record.", day=20)])  # same id: replaced
    assert found(DayRange()) == {"old:0", "undated:0"} and index.count() == 3
    index.delete_articles(["old"])
    assert found(DayRange()) == {"undated:0"} and index.count() == 2


def test_a_lost_index_is_rebuilt_from_chroma(fresh_bot: NewsBot) -> None:
    fresh_bot.ingest([SAMPLE_NEWS])
    chunks = fresh_bot.store.chunk_count()
    fresh_bot.store.lexical.path.unlink()
    reopened = sharing_models(fresh_bot, fresh_bot.settings)
    assert reopened.store.lexical.count() == chunks
    answer = reopened.ask("Which company agreed to buy Brightwater Coatings?")
    assert "Halvorsen" in answer.text


def _overwrite(index: Path, data: bytes) -> None:
    """Overwrite the index as a process that had ended would find it: its write-ahead log
    folded into the file first (else SQLite would read the latest pages from the log)."""
    with sqlite3.connect(index) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index.write_bytes(data)


def test_an_unreadable_index_is_set_aside_and_rebuilt_from_chroma(
    fresh_bot: NewsBot, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_bot.ingest([SAMPLE_NEWS])
    chunks = fresh_bot.store.chunk_count()
    index = fresh_bot.store.lexical.path
    _overwrite(index, b"not a database " * 1_000)
    with caplog.at_level(logging.WARNING, logger="ingest.index.store"):
        reopened = sharing_models(fresh_bot, fresh_bot.settings)
        assert reopened.stats()["articles"] == SAMPLE_ARTICLES
    assert [record.getMessage() for record in caplog.records] == [
        f"the BM25 index {index} was unreadable (file is not a database); rebuilt from Chroma "
        f"({chunks} chunks), the old file kept as {index.name}.unreadable"
    ]
    assert index.with_name(index.name + ".unreadable").read_bytes().startswith(b"not a database")
    assert reopened.store.lexical.count() == chunks
    assert reopened.store.lexical_query(["brightwater"], 3, DayRange())  # BM25 answers again
    answer = reopened.ask("Which company agreed to buy Brightwater Coatings?")
    assert "Halvorsen" in answer.text


def test_an_index_cut_short_is_rebuilt_too(tmp_path: Path) -> None:
    """A lost page in the middle fails no open by itself, only a later question."""
    path = tmp_path / "index.sqlite"
    index = LexicalIndex(path)
    index.add(chunk(f"a{n}:0", "Copper and zinc rose. " * 100 + str(n)) for n in range(2_000))
    index.raise_watermark(1.0)
    del index
    with sqlite3.connect(path) as db:  # all of it in the file, as when the last user closes
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    reopened = LexicalIndex(path)
    assert reopened.unreadable  # SQLite's words for it depend on where the cut fell
    assert reopened.watermark() is None and reopened.count() == 0  # the store refills it


def test_the_cli_says_it_rebuilt_an_unreadable_index(fresh_bot: NewsBot) -> None:
    fresh_bot.ingest([SAMPLE_NEWS])
    index = fresh_bot.store.lexical.path
    _overwrite(index, bytes(8_192))  # zeroed, as a crash of some file systems leaves it
    data = str(fresh_bot.settings.data_dir)
    done = subprocess.run(
        [NEWSBOT, "--data-dir", data, "stats"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"WARNING ingest.index.store: the BM25 index {index} was unreadable (file is not a "
        "database); rebuilt from Chroma"
    ) in done.stderr
    assert re.search(rf"^articles: +{SAMPLE_ARTICLES} in ", done.stdout, re.MULTILINE), done.stdout


def test_a_big_store_skips_words_most_chunks_share(tmp_path: Path) -> None:
    """In 6,000 market chunks "market" costs a scan of all of them and ranks nothing:
    the rare words decide, and the result is the same chunk."""
    index = LexicalIndex(tmp_path / "index.sqlite")
    index.add(chunk(f"a{i}:0", f"The market moved on item {i}.") for i in range(6000))
    index.add([chunk("hit:0", "The market cheered Zephyrine Mining's copper find.")])
    words = ["market", "zephyrine", "copper", "find"]
    assert index._selective(words) == ["zephyrine", "copper", "find"]
    assert index.search(words, 3, DayRange())[0][0] == "hit:0"
    small = LexicalIndex(tmp_path / "small.sqlite")
    small.add(chunk(f"a{i}:0", f"The market moved on item {i}.") for i in range(50))
    assert small._selective(words) == words  # small stores search every word


def test_a_search_does_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    """An upload writes thousands of chunks in one transaction; questions asked
    meanwhile read the last committed index instead of waiting for it to end."""
    index = LexicalIndex(tmp_path / "index.sqlite")
    index.add([chunk("gold:0", "Gold hit a record as the dollar fell.")])
    inside, finish = threading.Event(), threading.Event()

    def slow_chunks() -> Iterator[IndexedChunk]:
        yield chunk("silver:0", "Silver hit a record too.")
        inside.set()  # the write transaction is open and holds the writer's lock
        assert finish.wait(30)
        yield chunk("copper:0", "Copper hit a record as well.")

    writer = threading.Thread(target=index.add, args=(slow_chunks(),))
    writer.start()
    assert inside.wait(30)
    found: list[list[tuple[str, float]]] = []
    reader = threading.Thread(target=lambda: found.append(index.search(["record"], 5, DayRange())))
    reader.start()
    reader.join(timeout=10)
    still_writing = writer.is_alive()
    finish.set()
    writer.join(timeout=30)
    assert still_writing and not reader.is_alive(), "the search waited for the write to end"
    assert [c for c, _ in found[0]] == ["gold:0"]  # what was committed, nothing half-written
    assert {c for c, _ in index.search(["record"], 5, DayRange())} == {
        "gold:0",
        "silver:0",
        "copper:0",
    }
