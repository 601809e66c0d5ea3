"""A real `chroma run` server behind the server-URL setting answers like the embedded store."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.serving import free_port, stop, wait_for
from bot import NewsBot, Settings, StoreUnavailable
from ingest.index.fts import DayRange
from ingest.index.store import CATCH_UP_EVERY_S
from tests.conftest import NEWSBOT, SAMPLE_ARTICLES, SAMPLE_NEWS, SEED_QUESTION, sharing_models

QUESTIONS = [
    SEED_QUESTION,
    "Why did the Bank of Japan raise rates in January 2025?",
    "Which company agreed to buy Brightwater Coatings and for how much?",
]


@pytest.mark.slow
def test_server_store_gives_the_same_answers(
    bot: NewsBot, chroma_server: str, seed_article: Path, tmp_path: Path
) -> None:
    remote = NewsBot(Settings(data_dir=tmp_path, chroma_url=chroma_server), embedder=bot.embedder)
    report = remote.ingest([seed_article, SAMPLE_NEWS])
    assert len(report.added) == SAMPLE_ARTICLES + 1 and not report.failed
    assert not (tmp_path / "chroma").exists()  # nothing went to an embedded store
    assert remote.ingest([SAMPLE_NEWS]).added == []  # idempotent on the server too
    for question in QUESTIONS:
        local, served = bot.ask(question), remote.ask(question)
        assert served.text == local.text
        assert [s.article_id for s in served.sources] == [s.article_id for s in local.sources]
    assert remote.stats()["articles"] == bot.stats()["articles"] == SAMPLE_ARTICLES + 1


def _worker(bot: NewsBot, chroma_server: str, data_dir: Path, chunk_size: int) -> NewsBot:
    """A process's view of the shared server: a data dir (its BM25 cache) of its own.
    `chunk_size` picks a collection no other test on the session's server uses."""
    settings = Settings(data_dir=data_dir, chroma_url=chroma_server, chunk_size=chunk_size)
    return sharing_models(bot, settings, reader=bot.reader)


def _found_within(newsbot: NewsBot, question: str, wanted: str, seconds: float) -> float:
    """Seconds until `newsbot` answers `question` with `wanted` and its BM25 search for
    the question's rare words finds that article (fails after `seconds`)."""
    started = time.monotonic()
    while True:
        answer = newsbot.ask(question)
        bm25 = newsbot.store.lexical_query(["quillon", "vantabrite"], 5, DayRange())
        found = {chunk_id.rsplit(":", 1)[0] for chunk_id, _ in bm25}
        cited = {s.article_id for s in answer.cited_sources}
        if wanted in answer.text and cited & found:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"{wanted!r} not found in {seconds} s"
        time.sleep(0.5)


@pytest.mark.slow
def test_a_second_worker_finds_what_the_first_ingested_without_a_rebuild(
    sample_bot: NewsBot, chroma_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = _worker(sample_bot, chroma_server, tmp_path / "first", 880)
    assert first.ingest([SAMPLE_NEWS]).ok
    second = _worker(sample_bot, chroma_server, tmp_path / "second", 880)
    assert second.store.lexical.count() == first.store.chunk_count()  # built once, at start
    caplog.set_level(logging.INFO, logger="ingest.index.store")
    caplog.clear()

    # A rare name that only BM25 matches well, in an article ingested by the first.
    story = tmp_path / "quillon.md"
    story.write_text(QUILLON.format(figure="$412 million"), encoding="utf-8")
    assert first.ingest([story]).ok
    _found_within(second, "How much did Quillon Vantabrite raise?", "$412 million", 10)
    # The edit keeps the number of chunks: a count check alone would miss it.
    story.write_text(QUILLON.format(figure="$398 million"), encoding="utf-8")
    assert first.ingest([story]).replaced
    _found_within(second, "How much did Quillon Vantabrite raise?", "$398 million", 10)

    second.store.catch_up(now=True)
    assert "$412 million" not in second.ask("How much did Quillon Vantabrite raise?").text
    assert second.store.lexical.article_ids() == set(second.store.articles.get()["ids"])
    assert second.store.lexical.count() == second.store.chunk_count()
    assert not [r for r in caplog.records if "building the lexical index" in r.message]


QUILLON = (
    "# Quillon Vantabrite closes its funding round\n\n"
    "Quillon Vantabrite, a maker of industrial coatings, said on Monday it raised {figure} "
    "from pension funds to build two plants in Ohio.\n"
)


@pytest.mark.slow
def test_two_ingests_of_overlapping_news_into_one_server_store_each_article_once(
    chroma_server: str, tmp_path: Path
) -> None:
    """Two `newsbot ingest` processes at once, each with its own data dir, into one
    collection: content-hash ids make the writes idempotent."""
    lines = SAMPLE_NEWS.read_text(encoding="utf-8").splitlines()
    halves = [lines[:20], lines[10:]]  # 10 articles in both
    files = []
    for number, half in enumerate(halves):
        files.append(tmp_path / f"half{number}.jsonl")
        files[-1].write_text("\n".join(half) + "\n", encoding="utf-8")
    flags = ["--chroma-url", chroma_server, "--chunk-size", "870"]
    runs = [
        subprocess.Popen(
            [NEWSBOT, "--data-dir", str(tmp_path / f"d{number}"), *flags, "ingest", str(file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for number, file in enumerate(files)
    ]
    for run in runs:
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output

    # The oracle: the same news ingested once, by one process, into an embedded store.
    alone = tmp_path / "alone"
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(alone), "--chunk-size", "870", "ingest", str(SAMPLE_NEWS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    served = NewsBot(Settings(data_dir=tmp_path / "d0", chroma_url=chroma_server, chunk_size=870))
    local = NewsBot(Settings(data_dir=alone, chunk_size=870))
    assert set(served.store.articles.get()["ids"]) == set(local.store.articles.get()["ids"])
    assert sorted(served.store.chunks.get()["ids"]) == sorted(local.store.chunks.get()["ids"])
    assert served.store.chunk_count() == local.store.chunk_count()


@pytest.mark.slow
def test_a_worker_whose_chroma_server_has_gone_says_so(sample_bot: NewsBot, tmp_path: Path) -> None:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "db"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/api/v2/heartbeat", server)
        worker = _worker(sample_bot, url, tmp_path / "worker", 900)
        assert worker.ingest([SAMPLE_NEWS]).ok
    finally:
        stop(server)
    time.sleep(CATCH_UP_EVERY_S)
    with pytest.raises(StoreUnavailable, match="chroma run"):
        worker.ask(SEED_QUESTION)
    with pytest.raises(StoreUnavailable, match="NEWSBOT_CHROMA_URL"):
        NewsBot(Settings(data_dir=tmp_path / "late", chroma_url=url)).stats()
