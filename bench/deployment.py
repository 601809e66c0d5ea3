"""What a deployment costs beside the answers: how soon a second worker on a shared
Chroma server answers from what the first ingested (the disk: `bench.disk`).

- Catch-up: a real `chroma run` on 127.0.0.1, two bots with data dirs of their own on it;
  the first ingests one article at a time, and the second, asking as a busy worker
  would, is timed until its BM25 cache holds that article (median of the rounds).
"""

from __future__ import annotations

import os
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
