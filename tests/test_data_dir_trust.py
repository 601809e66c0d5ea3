"""The data dir is its user's alone, and the CLI trusts no `serve.lock` it finds there
without checking it: real `newsbot` processes, a real HTTP server standing in for
whatever a forged lock names."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot.settings import Settings
from tests.conftest import NEWSBOT, SAMPLE_NEWS
from ui import server_lock


def test_the_data_dir_and_everything_in_it_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [NEWSBOT, "--data-dir", str(data), "ingest", str(SAMPLE_NEWS)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = [data, *data.rglob("*")]
    assert len(found) > 3  # Chroma's files, the BM25 cache, the ingest lock
    shared = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in found}
    shared = {path: mode for path, mode in shared.items() if int(mode, 8) & 0o077}
    assert not shared, shared
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_a_data_dir_others_could_read_is_made_private(tmp_path: Path) -> None:
    from bot import NewsBot

    data = tmp_path / "open"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    NewsBot(Settings(data_dir=data))
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


class _Listener(BaseHTTPRequestHandler):
    """Whatever a forged lock points at: it only records who called."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.calls.append(self.path)
        self.send_response(200)
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _listener() -> Iterator[tuple[str, list[str]]]:
    _Listener.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", _Listener.calls
    finally:
        server.shutdown()


@contextmanager
def _bystander() -> Iterator[int]:
    """A live process of this user's that is not a web chat."""
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _forge(data: Path, pid: int, url: str, mode: int = 0o600) -> None:
    data.mkdir(parents=True, exist_ok=True)
    lock = data / server_lock.LOCK_NAME
    lock.write_text(json.dumps({"pid": pid, "url": url, "token": "t"}), encoding="utf-8")
    lock.chmod(mode)


def test_a_lock_naming_a_process_that_does_not_listen_there_gets_no_news(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _listener() as (url, calls), _bystander() as pid:
        _forge(data, pid, url)
        done = subprocess.run(
            [NEWSBOT, "--data-dir", str(data), "ingest", str(SAMPLE_NEWS)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NEWSBOT_AUTH": "analyst:s3cret"},
        )
        assert calls == []  # neither the articles nor the login went there
    assert done.returncode == 2, done.stderr
    assert f"process {pid}" in done.stderr and "does not listen" in done.stderr, done.stderr
    assert "delete the file" in done.stderr


def test_a_lock_others_could_write_is_refused(tmp_path: Path) -> None:
    with _listener() as (url, calls):
        _forge(tmp_path, os.getpid(), url, mode=0o644)
        with pytest.raises(ValueError, match="not yours alone"):
            server_lock.live_lock(tmp_path)
        assert calls == []


def test_a_lock_of_a_process_gone_is_stale(tmp_path: Path) -> None:
    with _bystander() as pid:
        pass
    _forge(tmp_path, pid, "http://127.0.0.1:9/")
    assert server_lock.live_lock(tmp_path) is None
