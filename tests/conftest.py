"""Shared fixtures: one real model, real Chroma stores, the real sample news.

Tests that read `../shared` (the seed article, the corpora) are skipped where it is
absent, each with one line saying what it needs; `.ci/run` sets NEWSBOT_REQUIRE_SHARED=1,
which makes a missing folder or any skipped test fail the run. A test that leaves a
process of its own running fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.serving import free_port, stop, wait_for
from bot import NewsBot, Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_NEWS = REPO / "ingest" / "samples" / "sample_news.jsonl"
SEED_QUESTION = "Who raised Hang Seng targets and why?"
SEED = "seeds/000_34a26bea272eb6df.txt"
# One article per line of the sample news.
SAMPLE_ARTICLES = len(SAMPLE_NEWS.read_text(encoding="utf-8").splitlines())
NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
SHARED_MISSING = "needs the shared corpora (../shared beside the checkout, or NEWSBOT_SHARED_DIR)"
# Set by `.ci/run`, which has ../shared: there a skipped test is a test that never ran.
REQUIRE_SHARED = "NEWSBOT_REQUIRE_SHARED"
# The fixtures that read ../shared, and what they read (the skip line of a test using one).
SHARED_FIXTURES = {"seed_article": f"the seed article {SEED}"}


def find_shared() -> Path | None:
    """NEWSBOT_SHARED_DIR when it is set, and then nothing else (pointed at an empty folder,
    the suite runs as in a bare clone); else a `shared/` folder beside the checkout or
    beside one of the folders above it (a CI clone may sit one level deeper)."""
    given = os.environ.get("NEWSBOT_SHARED_DIR", "")
    candidates = [Path(given)] if given else [folder / "shared" for folder in REPO.parents]
    return next((folder for folder in candidates if (folder / "seeds").is_dir()), None)


def shared_dir(what: str = "the shared folder") -> Path:
    """The folder of seeds and corpora; without one, the calling test is skipped."""
    found = find_shared()
    if found is None:
        pytest.skip(f"{SHARED_MISSING}: {what}")
    return found


def shared_need(item: pytest.Item) -> str | None:
    """What of ../shared `item` reads: its `shared` marker's text, else what a fixture of
    its reads; None for a test that runs on the checkout alone."""
    marker = item.get_closest_marker("shared")
    if marker is not None:
        return str(marker.args[0]) if marker.args else "the shared folder"
    fixtures = getattr(item, "fixturenames", ())
    return next((SHARED_FIXTURES[name] for name in fixtures if name in SHARED_FIXTURES), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without ../shared, a test that reads it is skipped before any of its fixtures is
    built (the seed's bot would load and ingest for nothing)."""
    if find_shared() is not None:
        return
    for item in items:
        need = shared_need(item)
        if need is not None:
            item.add_marker(pytest.mark.skip(reason=f"{SHARED_MISSING}: {need}"))


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get(REQUIRE_SHARED) and find_shared() is None:
        raise pytest.UsageError(
            f"{REQUIRE_SHARED} is set, but there is no shared folder: "
            "put it at ../shared beside the checkout, or set NEWSBOT_SHARED_DIR"
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under NEWSBOT_REQUIRE_SHARED a skip fails the run: every test must have run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not os.environ.get(REQUIRE_SHARED) or reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", []))
    if skipped:
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line("")  # after the progress line
        reporter.write_sep(
            "=", f"{skipped} skipped, and {REQUIRE_SHARED} allows none (listed below)", red=True
        )


def _children() -> dict[tuple[int, str], str]:
    """This process's running children, by pid and start time (a pid may be reused), with
    their command lines; an ended child not yet waited for (a zombie) is not running."""
    found: dict[tuple[int, str], str] = {}
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            command = Path(entry.path, "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold ")"
        state, parent, started = fields[0], fields[1], fields[19]
        if parent == me and state not in "ZX":
            found[(int(entry.name), started)] = (
                command.replace(b"\0", b" ").decode(errors="replace").strip()
            )
    return found


def _end(pid: int) -> None:
    """SIGTERM, then SIGKILL after 10 s; then reaped, so that it does not linger a zombie."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    """Fails a test that leaves a process of its own running, after ending it.

    Fixtures of a wider scope (a session's `chroma run`, a module's server) are all set
    up before this one and finalised after it, so their processes count as already
    there; the test's own fixtures are finalised before this one checks.
    """
    if not os.path.isdir("/proc"):  # Linux's view of processes; elsewhere nothing to read
        yield
        return
    before = _children()
    yield
    left = {key: command for key, command in _children().items() if key not in before}
    for pid, _ in left:
        with suppress(ChildProcessError, ProcessLookupError):  # its Popen reaped it meanwhile
            _end(pid)
    if left:
        listed = "; ".join(f"{pid}: {command[:200]}" for (pid, _), command in left.items())
        pytest.fail(f"left {len(left)} process(es) running, now ended: {listed}", pytrace=False)


def stored_texts(bot: NewsBot) -> list[str]:
    """The chunk texts Chroma holds, read from the records as any Chroma client would."""
    records = bot.store.chunks.get(include=["metadatas"])["metadatas"] or []
    return [str((record or {}).get("text", "")) for record in records]


def sharing_models(bot: NewsBot, settings: Settings, **parts: Any) -> NewsBot:
    """A bot on `settings` that reuses `bot`'s loaded encoders (and any `parts` given):
    loading them again would cost each test seconds."""
    return NewsBot(settings, embedder=bot.embedder, index_embedder=bot.index_embedder, **parts)


@pytest.fixture(scope="session")
def seed_article() -> Path:
    return shared_dir(SHARED_FIXTURES["seed_article"]) / SEED


@pytest.fixture(scope="session")
def sample_bot(tmp_path_factory: pytest.TempPathFactory) -> NewsBot:
    """A bot with the bundled sample news, which every checkout has (read-only in tests)."""
    newsbot = NewsBot(Settings(data_dir=tmp_path_factory.mktemp("sample-bot")))
    report = newsbot.ingest([SAMPLE_NEWS])
    assert report.ok, report.failed
    return newsbot


@pytest.fixture(scope="session")
def bot(
    sample_bot: NewsBot, seed_article: Path, tmp_path_factory: pytest.TempPathFactory
) -> NewsBot:
    """The seed article and the sample news, the corpus of the seed question (read-only in
    tests); `sample_bot`'s encoders, loaded once."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("bot"))
    newsbot = sharing_models(sample_bot, settings, reader=sample_bot.reader)
    report = newsbot.ingest([seed_article, SAMPLE_NEWS])
    assert report.ok, report.failed
    return newsbot


@pytest.fixture
def fresh_bot(sample_bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store that reuses the already loaded model."""
    settings = Settings(data_dir=tmp_path / "data")
    return sharing_models(sample_bot, settings, reader=sample_bot.reader)


@pytest.fixture
def web_bot(sample_bot: NewsBot, tmp_path: Path) -> NewsBot:
    """An empty store allowed to fetch from the tests' own servers on 127.0.0.1."""
    settings = Settings(data_dir=tmp_path / "data", allow_private_urls=True)
    return sharing_models(sample_bot, settings, reader=sample_bot.reader)


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
        stop(process)
        log.close()
