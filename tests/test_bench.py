"""`make bench` must keep working: a tiny run of every part prints the tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import run
from bot import NewsBot
from tests.conftest import shared_dir

DEV_CORPUS = "the RealTimeQA DEV corpus, data/realtimeqa-dev/corpus.jsonl.gz"


def results_of(out: Path) -> dict[str, Any]:
    results: dict[str, Any] = json.loads(out.read_text())
    return results


@pytest.mark.slow
@pytest.mark.shared(DEV_CORPUS)
def test_a_tiny_bench_run_prints_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = shared_dir(DEV_CORPUS) / "data" / "realtimeqa-dev" / "corpus.jsonl.gz"
    out = tmp_path / "bench.json"
    argv = ["--corpus", str(corpus), "--sample", "40", "--questions", "4", "--repeats", "1"]
    argv += ["--cold-runs", "1", "--scale", "1500", "--clients", "2", "--upload", "20"]
    argv += ["--catch-up-rounds", "2", "--rates", "1", "--rate-seconds", "8"]
    argv += ["--out", str(out)]
    assert run.main(argv) == 0
    printed = capsys.readouterr().out
    for label in ("ingest articles/s", "answer p50, dated", "cold `newsbot ask`", "recall@30"):
        assert label in printed
    for label in ("served answers/s", "served errors", "one user, during upload p50"):
        assert label in printed
    for label in ("served peak RSS", "disk: BM25 cache", "second worker catch-up (s)"):
        assert label in printed
    assert "x the article text" in printed and "| chroma run x2 | 1 |" in printed
    served = results_of(out)["serving"]
    assert served["errors"] == 0 and served["answers"] == 2 * 5
    assert "Added 20" in served["upload_report"]
    results = results_of(out)
    assert results["articles_read"] == 40 and results["chunks"] > 40
    # Ingest encodes the same chunks and also reads, chunks and writes them: slower.
    assert 0 < results["ingest_to_encoder_ratio"] < 1
    # A busy second worker looks every 2 s (`CATCH_UP_EVERY_S`): well within 10 s.
    assert all(0 < delay < 10 for delay in results["catch_up_seconds_runs"])
    assert 100 < served["server_peak_rss_mb"] < 4096
    disk = results["disk_mb"]
    # 40 articles hold about 0.2 MB of text; Chroma keeps it as chunk metadata, twice.
    assert 0.2 < disk["text in metadata"] < 2 and disk["BM25 cache"] > 0
    assert disk["Chroma documents"] < 0.05 and disk["Chroma full-text"] < 1
    for layout in results["open_loop"]:  # questions at random while a feed comes in
        assert layout["rates"][0]["answers"] >= 1 and layout["rates"][0]["errors"] == 0
        assert layout["feed_articles_stored"] >= 1
    assert [layout["workers"] for layout in results["open_loop"]] == [1, 2]
    [scaled] = results["scale"]
    assert scaled["chunks"] == 1500
    # HNSW on real vectors finds nearly all of the exact nearest chunks.
    assert scaled["vector_recall@30"] >= 0.9
    # 1,500 vectors of 256 float32 alone take 1.5 MB; a process with the models loaded
    # holds well over 100 MB and, on this small store, under 4 GB.
    assert scaled["disk_mb"] >= 1.5
    assert 100 < scaled["serving_peak_rss_mb"] < 4096


@pytest.mark.slow
@pytest.mark.shared(DEV_CORPUS)
def test_a_bench_on_a_filled_store_times_each_stage_and_ingests_nothing(
    bot: NewsBot, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = shared_dir(DEV_CORPUS) / "data" / "realtimeqa-dev" / "corpus.jsonl.gz"
    chunks = bot.store.chunk_count()
    argv = ["--corpus", str(corpus), "--store", str(bot.settings.data_dir), "--clients", "0"]
    assert run.main([*argv, "--questions", "3", "--repeats", "1", "--cold-runs", "1"]) == 0
    printed = capsys.readouterr().out
    for label in ("answer p50, dated", "  search p50", "  compose p50", "cold `newsbot ask`"):
        assert label in printed
    assert "ingest articles/s" not in printed and "recall@30" not in printed
    assert bot.store.chunk_count() == chunks
