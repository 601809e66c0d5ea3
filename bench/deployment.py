"""What a deployment costs beside the answers: disk per part of the store, and how soon
a second worker on a shared Chroma server answers from what the first ingested.

- Disk: the data dir of a filled store, split into Chroma's parts (chunk text and
  metadata; Chroma's own full-text index of the text, which newsbot never queries; the
  vectors' HNSW files; the rest of its SQLite file) and newsbot's BM25 cache, in MB per
  100k chunks.
- Catch-up: a real `chroma run` on 127.0.0.1, two bots with data dirs of their own on it;
  the first ingests one article at a time, and the second, asking as a busy worker
  would, is timed until its BM25 cache holds that article (median of the rounds).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.serving import free_port, stop, wait_for
from bot.newsbot import NewsBot
from bot.settings import Settings
from ingest.types import Article

# SQLite tables of Chroma's file, by what they hold (the rest is counted as "other").
_CHROMA_PARTS = {
    "text and metadata": ("embedding_metadata", "sqlite_autoindex_embedding_metadata"),
    "Chroma full-text index": ("embedding_fulltext_search",),
}


def disk_by_part(data_dir: Path, chunks: int) -> dict[str, float]:
    """MB per 100k chunks of each part of `data_dir` (`chunks` chunks stored)."""
    parts: dict[str, float] = {}
    chroma = data_dir / "chroma" / "chroma.sqlite3"
    if chroma.exists():
        with sqlite3.connect(f"file:{chroma}?mode=ro", uri=True) as db:
            pages = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        for name, size in pages:
            part = next(
                (label for label, prefixes in _CHROMA_PARTS.items() if name.startswith(prefixes)),
                "Chroma other",
            )
            parts[part] = parts.get(part, 0.0) + size
        vectors = [p for p in (data_dir / "chroma").rglob("*") if p.is_file() and p != chroma]
        parts["vectors (HNSW files)"] = sum(p.stat().st_size for p in vectors)
    parts["BM25 cache"] = sum(p.stat().st_size for p in data_dir.glob("*.fts.sqlite*"))
    scale = 1e5 / max(chunks, 1) / 2**20
    return {part: round(size * scale, 1) for part, size in parts.items()}


def catch_up_delay(source: NewsBot, articles: list[Article], rounds: int = 5) -> dict[str, Any]:
    """Seconds until a second worker's BM25 cache holds an article the first ingested."""
    with tempfile.TemporaryDirectory(prefix="newsbot-deploy-") as scratch:
        folder = Path(scratch)
        port = free_port()
        chroma = Path(sys.executable).with_name("chroma")
        command = [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1"]
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/api/v2/heartbeat", server)
            first, second = (_worker(source, url, folder / name) for name in ("w1", "w2"))
            delays = []
            for number, article in enumerate(articles[:rounds]):
                path = folder / f"article{number}.md"
                path.write_text(f"# {article.title}\n\n{article.text}\n", encoding="utf-8")
                [article_id] = first.ingest([path]).added
                ingested = time.perf_counter()
                while article_id not in second.store.lexical.article_ids():
                    second.ask(article.title)  # a busy worker: questions keep coming
                delays.append(time.perf_counter() - ingested)
        finally:
            stop(server)
    return {
        "catch_up_seconds_runs": [round(d, 2) for d in delays],
        "catch_up_seconds": round(statistics.median(delays), 2),
    }


def _worker(source: NewsBot, url: str, data_dir: Path) -> NewsBot:
    return NewsBot(
        Settings(data_dir=data_dir, chroma_url=url),
        embedder=source.embedder,
        index_embedder=source.index_embedder,
        reader=source.reader,
    )
