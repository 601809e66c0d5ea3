"""`make bench` must keep working: a tiny run of every part prints the tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run
from tests.conftest import shared_dir


@pytest.mark.slow
def test_a_tiny_bench_run_prints_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = shared_dir() / "data" / "realtimeqa-dev" / "corpus.jsonl.gz"
    out = tmp_path / "bench.json"
    argv = ["--corpus", str(corpus), "--sample", "40", "--questions", "4", "--repeats", "1"]
    argv += ["--cold-runs", "1", "--scale", "1500", "--out", str(out)]
    assert run.main(argv) == 0
    printed = capsys.readouterr().out
    for label in ("ingest articles/s", "answer p50, dated", "cold `newsbot ask`", "recall@30"):
        assert label in printed
    results = json.loads(out.read_text())
    assert results["articles_read"] == 40 and results["chunks"] > 40
    assert results["ingest_to_encoder_ratio"] > 0
    [scaled] = results["scale"]
    assert scaled["chunks"] == 1500
    # HNSW on real vectors finds nearly all of the exact nearest chunks.
    assert scaled["vector_recall@30"] >= 0.9
    assert scaled["disk_mb"] > 0 and scaled["serving_peak_rss_mb"] > 0
