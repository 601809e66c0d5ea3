"""`newsbot watch`: feeds polled in rounds with conditional requests, against a real
HTTP server on 127.0.0.1 whose log shows what each round fetched."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bot import NewsBot, Settings
from bot.cli import main
from tests.conftest import free_port
from ui import render

PAGE = """<!doctype html><html><head><title>{title}</title>
<meta property="article:published_time" content="2025-03-0{day}T08:00:00Z"></head>
<body><article><h1>{title}</h1><p>{text}</p><p>Traders said the move was the largest
in months, and that more volatility was likely as the quarter came to an end.</p>
</article></body></html>"""


class _Feeds(BaseHTTPRequestHandler):
    """A feed with ETag and Last-Modified, and its entries' pages; every request logged."""

    feed: ClassVar[str] = ""
    etag: ClassVar[str] = ""
    pages: ClassVar[dict[str, str]] = {}
    log: ClassVar[list[tuple[str, int]]] = []

    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            if self.headers.get("If-None-Match") == self.etag:
                self._answer(304)
                return
            self._answer(200, self.feed, "application/rss+xml", ETag=self.etag,
                         **{"Last-Modified": "Mon, 03 Mar 2025 08:00:00 GMT"})  # fmt: skip
        elif self.path in self.pages:
            self._answer(200, self.pages[self.path], "text/html; charset=utf-8")
        else:
            self._answer(404)

    def _answer(self, status: int, body: str = "", kind: str = "", **headers: str) -> None:
        type(self).log.append((self.path, status))
        self.send_response(status)
        for name, value in {"Content-Type": kind, **headers}.items():
            if value:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


def publish(base: str, entries: dict[str, tuple[str, str]], etag: str) -> None:
    """The feed now lists `entries` (page: title, text), under a new ETag; an entry's
    summary is its text, so an edited article shows in the feed as edited."""
    items = "".join(
        f"<item><title>{title}</title><link>{base}{page}</link>"
        f"<description>{text}</description><guid>{base}{page}</guid></item>"
        for page, (title, text) in entries.items()
    )
    _Feeds.feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk Wire</title>'
        f"<link>{base}/</link><description>Markets</description>{items}</channel></rss>"
    )
    _Feeds.etag = f'"{etag}"'
    _Feeds.pages = {
        page: PAGE.format(title=title, text=text, day=n + 1)
        for n, (page, (title, text)) in enumerate(entries.items())
    }


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Feeds.log = []
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def one_round(data_dir: Path, feeds: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    _Feeds.log.clear()
    flags = ["--data-dir", str(data_dir), "--allow-private-urls", "true"]
    assert main([*flags, "watch", *feeds, "--rounds", "1"]) == 0
    return capsys.readouterr().out


def test_rounds_fetch_only_what_changed_and_survive_a_feed_that_is_down(
    sample_bot: NewsBot, site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    down = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens there
    feeds = [f"{site}/feed.xml", down]
    copper = ("Copper jumps on tariff probe", "Copper rose 4.2 percent to a record.")
    zinc = ("Zinc slides as smelters restart", "Zinc fell 2.1 percent on Monday.")
    publish(site, {"/copper.html": copper, "/zinc.html": zinc}, "v1")

    first = one_round(data, feeds, capsys)
    assert "new 2, changed 0, unchanged 0, failed 1" in first, first
    assert sorted(_Feeds.log) == [("/copper.html", 200), ("/feed.xml", 200), ("/zinc.html", 200)]

    second = one_round(data, feeds, capsys)
    assert _Feeds.log == [("/feed.xml", 304)]  # asked with its ETag: nothing fetched
    assert "new 0, changed 0, unchanged 2, failed 1" in second and "1 not modified" in second

    edited = ("Zinc slides as smelters restart", "Zinc fell 3.4 percent on Monday, revised.")
    nickel = ("Nickel steadies after rout", "Nickel was flat at 15,800 dollars a tonne.")
    publish(site, {"/copper.html": copper, "/zinc.html": edited, "/nickel.html": nickel}, "v2")
    third = one_round(data, feeds, capsys)
    assert "new 1, changed 1, unchanged 1, failed 1" in third, third
    fetched = sorted(_Feeds.log)
    assert fetched == [("/feed.xml", 200), ("/nickel.html", 200), ("/zinc.html", 200)]

    stored = NewsBot(Settings(data_dir=data), index_embedder=sample_bot.index_embedder)
    stats = stored.stats()
    assert stats["articles"] == 3  # the edited entry replaced its first version
    texts = " ".join(p.text for p in stored.search("zinc fell", k=5))
    assert "3.4 percent" in texts and "2.1 percent" not in texts
    # The chat's summary says when each feed was read, and that the other is down.
    summary = render.corpus_summary(stats)
    assert f"{site.split('://')[1]}/feed.xml read 20" in summary, summary
    assert "last try failed: cannot fetch" in summary


def test_a_round_in_which_no_feed_answers_ends_the_watch_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every feed down (a wrong address, no network): the command fails at once, saying
    why, instead of printing failures forever with exit status 0 at the end."""
    down = f"http://127.0.0.1:{free_port()}/feed.xml"  # nothing listens there
    flags = ["--data-dir", str(tmp_path / "data"), "--allow-private-urls", "true"]
    status = main([*flags, "watch", down, "--rounds", "3", "--every", "1s"])
    shown = capsys.readouterr()
    assert status == 1
    assert "round 1: new 0, changed 0, unchanged 0, failed 1" in shown.out, shown.out
    assert "round 2" not in shown.out  # stopped after the first round, not at the last
    assert f"FAILED {down}: cannot fetch" in shown.err, shown.err
    assert "newsbot watch: no feed could be read in round 1; stopping" in shown.err
