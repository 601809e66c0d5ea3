"""Shared fixtures: one real model, real Chroma stores, the real sample news."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import NewsBot

REPO = Path(__file__).resolve().parents[1]
SAMPLE_NEWS = REPO / "ingest" / "samples" / "sample_news.jsonl"
SEED_QUESTION = "Who raised Hang Seng targets and why?"


def shared_dir() -> Path:
    """`../shared` beside the checkout (or NEWSBOT_SHARED_DIR): seeds and corpora."""
    candidates = [os.environ.get("NEWSBOT_SHARED_DIR", ""), str(REPO.parent / "shared")]
    for candidate in [*candidates, "/work/shared"]:
        if candidate and (Path(candidate) / "seeds").is_dir():
            return Path(candidate)
    pytest.fail("shared data not found; set NEWSBOT_SHARED_DIR to the shared/ folder")


@pytest.fixture(scope="session")
def seed_article() -> Path:
    return shared_dir() / "seeds" / "000_34a26bea272eb6df.txt"


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory, seed_article: Path) -> NewsBot:
    """A bot with the seed article and the bundled sample news (read-only in tests)."""
    newsbot = NewsBot(data_dir=tmp_path_factory.mktemp("bot"))
    report = newsbot.ingest([seed_article, SAMPLE_NEWS])
    assert report.ok, report.failed
    return newsbot


@pytest.fixture
def fresh_bot(bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store that reuses the already loaded model."""
    newsbot = NewsBot(data_dir=tmp_path / "data")
    newsbot.__dict__["embedder"] = bot.embedder
    newsbot.__dict__["index_embedder"] = bot.index_embedder
    return newsbot


@pytest.fixture
def web_bot(bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store allowed to fetch from the tests' own servers on 127.0.0.1."""
    newsbot = NewsBot(data_dir=tmp_path / "data", allow_private_urls=True)
    newsbot.__dict__.update(embedder=bot.embedder, index_embedder=bot.index_embedder)
    return newsbot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes] | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on 127.0.0.1, stopped at the end of the session."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    log = (tmp_path_factory.mktemp("chroma-log") / "server.log").open("wb")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-db")),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/api/v2/heartbeat", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
