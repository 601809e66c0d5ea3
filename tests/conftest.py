"""Shared fixtures: one real model, real Chroma stores, the real sample news."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.serving import free_port, wait_for
from bot import NewsBot, Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_NEWS = REPO / "ingest" / "samples" / "sample_news.jsonl"
SEED_QUESTION = "Who raised Hang Seng targets and why?"
# One article per line of the sample news.
SAMPLE_ARTICLES = len(SAMPLE_NEWS.read_text(encoding="utf-8").splitlines())
NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


def shared_dir() -> Path:
    """NEWSBOT_SHARED_DIR, else a `shared/` folder beside the checkout or beside one of
    the folders above it (a CI clone may sit one level deeper): seeds and corpora."""
    given = os.environ.get("NEWSBOT_SHARED_DIR", "")
    candidates = [Path(given)] if given else [folder / "shared" for folder in REPO.parents]
    for candidate in candidates:
        if (candidate / "seeds").is_dir():
            return candidate
    pytest.fail("shared data not found; set NEWSBOT_SHARED_DIR to the shared/ folder")


def sharing_models(bot: NewsBot, settings: Settings, **parts: Any) -> NewsBot:
    """A bot on `settings` that reuses `bot`'s loaded encoders (and any `parts` given):
    loading them again would cost each test seconds."""
    return NewsBot(settings, embedder=bot.embedder, index_embedder=bot.index_embedder, **parts)


@pytest.fixture(scope="session")
def seed_article() -> Path:
    return shared_dir() / "seeds" / "000_34a26bea272eb6df.txt"


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory, seed_article: Path) -> NewsBot:
    """A bot with the seed article and the bundled sample news (read-only in tests)."""
    newsbot = NewsBot(Settings(data_dir=tmp_path_factory.mktemp("bot")))
    report = newsbot.ingest([seed_article, SAMPLE_NEWS])
    assert report.ok, report.failed
    return newsbot


@pytest.fixture
def fresh_bot(bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store that reuses the already loaded model."""
    return sharing_models(bot, Settings(data_dir=tmp_path / "data"), reranker=bot.reranker)


@pytest.fixture
def web_bot(bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store allowed to fetch from the tests' own servers on 127.0.0.1."""
    settings = Settings(data_dir=tmp_path / "data", allow_private_urls=True)
    return sharing_models(bot, settings, reranker=bot.reranker)


class _Trickle(BaseHTTPRequestHandler):
    """A page that sends one byte every 0.2 s, as a stalled news site might: every read
    is quick, the whole is not."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            for _ in range(300):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client gave up: that is the point
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def trickling_site() -> Iterator[str]:
    """The URL of a trickling page on a real HTTP server on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slow"
    finally:
        server.shutdown()


@contextmanager
def serving(
    data: Path,
    log_path: Path,
    flags: Sequence[str] = (),
    serve_flags: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real `newsbot serve` process on `data` (with global `flags`, `serve_flags` after
    the command and extra `env`), and its URL; stopped as a service manager would."""
    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [NEWSBOT, "--data-dir", str(data), *flags, "serve", "--port", str(port),
             *serve_flags],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for(url, server, seconds=120)
            yield server, url
        finally:
            stop(server)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not ended within 30 s: no process is left behind."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


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
